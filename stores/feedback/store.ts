import { createHash } from 'node:crypto';

/*
 * Where live feedback lives. Every event is one document of `feedback_events`, keyed by
 * its id: inserting it is the claim that makes a retried event count once (the unique
 * `_id` is the one write both MongoDB and FerretDB make atomic). Reports read the small
 * per-model, per-day counters of `feedback_counts`, never the events (FerretDB scans and
 * decodes a whole collection for any filter but `{_id}`). A request's counter updates are
 * journalled in `feedback_pending` until applied, so a request that dies half-way is
 * counted exactly once later (see record.ts).
 */

export const FEEDBACK_EVENTS = 'feedback_events';
export const FEEDBACK_COUNTS = 'feedback_counts';
export const FEEDBACK_PENDING = 'feedback_pending';

export const FEEDBACK_TYPES = ['impression', 'play', 'like'] as const;
export type FeedbackType = (typeof FEEDBACK_TYPES)[number];

/** The counter each event type adds to. */
export const COUNTER_OF: Readonly<Record<FeedbackType, 'impressions' | 'plays' | 'likes'>> = { impression: 'impressions', play: 'plays', like: 'likes' };

/** One event as the service accepted it. */
export interface FeedbackEvent {
  /** The client's id for the event, when it sent one. */
  event_id: string | null;
  user_id: number;
  track_id: number;
  /** The model key of the list the track was shown in, e.g. `item-knn@3`. */
  model: string;
  type: FeedbackType;
  /** When it happened (the client's `at`, or when the service received it). */
  at: Date;
}

export interface FeedbackEventDocument extends FeedbackEvent {
  /** See feedbackEventId. */
  _id: string;
  received_at: Date;
  /** The request attempt that inserted it: the one that counts it. */
  attempt: string;
}

/** Per model and UTC day: how many events of each type were counted. */
export interface FeedbackCountDocument {
  /** `<model>|<day>`. */
  _id: string;
  model: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  impressions: number;
  plays: number;
  likes: number;
  /** Attempts whose increments this document holds; each is removed once its journal entry is gone. */
  applied?: Record<string, boolean>;
  updated_at: Date;
}

/** A request attempt's events, written before they are inserted and deleted once they are counted. */
export interface FeedbackPendingDocument {
  /** The attempt id. */
  _id: string;
  ids: string[];
  received_at: Date;
}

/**
 * The key of an event. With the client's `event_id` it is `e:<user>:<event_id>` (scoped
 * by user, so two clients that number their events alike do not collide); without, it is
 * a digest of the event's content (`h:...`): a retry that repeats the event's `at` is the
 * same event, and two identical events at the same millisecond are one.
 */
export function feedbackEventId(event: FeedbackEvent): string {
  if (event.event_id !== null) return `e:${event.user_id}:${event.event_id}`;
  const content = [event.user_id, event.track_id, event.model, event.type, event.at.getTime()].join('|');
  return `h:${createHash('sha256').update(content).digest('hex').slice(0, 32)}`;
}

export const utcDay = (at: Date) => at.toISOString().slice(0, 10);
export const countId = (model: string, day: string) => `${model}|${day}`;
