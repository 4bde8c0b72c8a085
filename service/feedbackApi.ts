import type { Db } from 'mongodb';
import { FeedbackRecorder } from '../stores/feedback/record.js';
import { parseFeedback } from './feedbackSchema.js';
import type { Reply, Route } from './route.js';

/** A full batch of 500 events is about 75 KB; past this a body is refused unread. */
export const FEEDBACK_MAX_BYTES = 256 * 1024;

/**
 * `POST /feedback`: impressions, plays and likes of recommended tracks, per user, track
 * and model version. The body is checked whole before anything is written; an event sent
 * again (same `event_id`, or same content and `at`) is stored and counted once.
 */
export function feedbackRoutes(db: Db): Route[] {
  const recorder = new FeedbackRecorder(db);
  return [
    {
      method: 'POST',
      path: /^\/feedback$/,
      maxBodyBytes: FEEDBACK_MAX_BYTES,
      handle: async (_params, _query, body): Promise<Reply> => {
        const parsed = parseFeedback(body);
        if (!parsed.ok) {
          const first = parsed.issues[0];
          return { status: 400, body: { error: `invalid feedback: ${first ? `${first.path}: ${first.message}` : 'unreadable'}`, issues: parsed.issues } };
        }
        const result = await recorder.record(parsed.events);
        return { status: 202, body: { received: parsed.events.length, ...result } };
      },
    },
  ];
}
