import * as v from 'valibot';
import { FEEDBACK_TYPES, type FeedbackEvent } from '../stores/feedback/store.js';
import { recordId } from '../sources/schemas.js';

/** `<name>@<version>`: a registered model (`item-knn@3`) or the fallback (`most-popular@auto-<16 hex>`). */
export const MODEL_KEY = /^[a-z0-9][a-z0-9-]{0,62}@(?:[1-9][0-9]{0,8}|auto-[0-9a-f]{16})$/;
/** A client's id for an event (a UUID fits). */
export const EVENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_EVENTS = 500;
/** Clocks differ: an event up to this far ahead of the service's clock is accepted. */
export const FUTURE_SLACK_MS = 5 * 60_000;
/** Older events are refused: counters of long-closed days stay closed. */
export const MAX_AGE_DAYS = 30;

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,3})?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** An ISO 8601 instant with a zone, naming a real time (no 2025-02-30, no 25:00). */
function isoInstant(text: string): Date | null {
  const m = ISO_TIME.exec(text);
  if (!m) return null;
  const [y, mo, d, h, mi, s, oh, om] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as number[];
  const wall = new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
  if (
    wall.getUTCFullYear() !== y ||
    wall.getUTCMonth() !== (mo as number) - 1 ||
    wall.getUTCDate() !== d ||
    wall.getUTCHours() !== h ||
    wall.getUTCMinutes() !== mi
  )
    return null;
  if ((oh as number) > 23 || (om as number) > 59) return null;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? null : at;
}

function eventSchema(now: Date) {
  const earliest = now.getTime() - MAX_AGE_DAYS * 86_400_000;
  const latest = now.getTime() + FUTURE_SLACK_MS;
  return v.strictObject(
    {
      event_id: v.optional(v.pipe(v.string('must be a string'), v.regex(EVENT_ID, 'must be 1-64 letters, digits, "_" or "-"'))),
      user_id: recordId,
      track_id: recordId,
      model: v.pipe(v.string('must be a string'), v.regex(MODEL_KEY, 'must be a model key such as item-knn@3 or most-popular@auto-<16 hex digits>')),
      type: v.picklist(FEEDBACK_TYPES, `must be one of ${FEEDBACK_TYPES.join(', ')}`),
      at: v.optional(
        v.pipe(
          v.string('must be a string'),
          v.check((s) => isoInstant(s) !== null, 'must be an ISO 8601 time with a zone, e.g. 2025-01-03T10:00:00Z'),
          v.check((s) => (isoInstant(s) as Date).getTime() <= latest, `must not be more than ${FUTURE_SLACK_MS / 60_000} minutes in the future`),
          v.check((s) => (isoInstant(s) as Date).getTime() >= earliest, `must not be more than ${MAX_AGE_DAYS} days in the past`),
        ),
      ),
    },
    objectMessage('an event'),
  );
}

/** One message for the three ways an object can be wrong: its type, a missing field, an unknown field. */
function objectMessage(what: string) {
  return (issue: v.BaseIssue<unknown>): string => {
    if (issue.expected === 'never') return `unknown field ${issue.received}`;
    if (issue.expected?.startsWith('"')) return 'is required';
    return `must be ${what} (a JSON object)`;
  };
}

export interface Issue {
  path: string;
  message: string;
}

export type ParsedFeedback = { ok: true; events: FeedbackEvent[] } | { ok: false; issues: Issue[] };

/**
 * A POST /feedback body: one event, or `{ "events": [...] }` with 1 to MAX_EVENTS events.
 * Every event is checked; one bad event refuses the whole request, so a client never has
 * to work out which of its events were stored.
 */
export function parseFeedback(body: unknown, now = new Date()): ParsedFeedback {
  const isObject = body !== null && typeof body === 'object' && !Array.isArray(body);
  if (!isObject) return { ok: false, issues: [{ path: '(body)', message: 'must be a JSON object: one event, or {"events": [...]}' }] };
  const event = eventSchema(now);
  const batch = Object.hasOwn(body, 'events');
  const schema = batch
    ? v.strictObject(
        {
          events: v.pipe(
            v.array(event, 'must be an array of events'),
            v.minLength(1, 'must hold at least one event'),
            v.maxLength(MAX_EVENTS, `must hold at most ${MAX_EVENTS} events`),
          ),
        },
        objectMessage('a batch'),
      )
    : event;
  const result = v.safeParse(schema, body, { abortPipeEarly: true });
  if (!result.success) {
    return {
      ok: false,
      issues: result.issues.slice(0, 20).map((issue) => ({ path: v.getDotPath(issue) ?? '(body)', message: issue.message })),
    };
  }
  const raw = 'events' in result.output ? result.output.events : [result.output];
  return {
    ok: true,
    events: raw.map((e) => ({
      event_id: e.event_id ?? null,
      user_id: e.user_id,
      track_id: e.track_id,
      model: e.model,
      type: e.type,
      at: e.at === undefined ? now : (isoInstant(e.at) as Date),
    })),
  };
}
