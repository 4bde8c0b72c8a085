import * as v from 'valibot';
import { DURATION, parseNaiveTimestamp } from './contract.js';

/*
 * What a record must be to be stored. These schemas reject what cannot be stored
 * faithfully or keyed (a missing or non-integer id, a wrong type, an unreadable
 * timestamp, `items` that is not a list of ids). Value sets (gender,
 * favorite_genres) are deliberately NOT enforced here: an unexpected value is a
 * data-quality finding about a record we keep, not a reason to quarantine it.
 * Unknown extra fields are kept (looseObject): they are schema drift, reported,
 * never dropped.
 */

/** The envelope of every list endpoint; items are validated one by one later. */
export const pageEnvelope = v.object({
  items: v.array(v.unknown()),
  total: v.pipe(v.number(), v.integer(), v.minValue(0)),
  page: v.pipe(v.number(), v.integer(), v.minValue(1)),
  size: v.pipe(v.number(), v.integer(), v.minValue(1)),
  pages: v.pipe(v.number(), v.integer(), v.minValue(0)),
});

export const recordId = v.pipe(
  v.number('must be a number'),
  v.integer('must be an integer'),
  v.minValue(1, 'must be >= 1'),
  v.maxValue(Number.MAX_SAFE_INTEGER, 'must be a safe integer'),
);

export const naiveTimestamp = v.pipe(
  v.string('must be a string'),
  // parseNaiveTimestamp checks the format and that the instant exists (no 2023-02-30).
  v.check((s) => parseNaiveTimestamp(s) !== null, 'must be a naive ISO 8601 timestamp YYYY-MM-DDTHH:MM:SS naming a real instant'),
);

const text = v.string('must be a string');

export const trackSchema = v.looseObject({
  id: recordId,
  name: text,
  artist: text,
  album: text,
  songwriters: text,
  duration: v.pipe(text, v.regex(DURATION, 'must be MM:SS')),
  genres: text,
  created_at: naiveTimestamp,
  updated_at: naiveTimestamp,
});

export const userSchema = v.looseObject({
  id: recordId,
  first_name: text,
  last_name: text,
  email: text,
  gender: text,
  favorite_genres: text,
  created_at: naiveTimestamp,
  updated_at: naiveTimestamp,
});

export const listenHistorySchema = v.looseObject({
  user_id: recordId,
  items: v.array(recordId, 'must be an array of track ids'),
  created_at: naiveTimestamp,
  updated_at: naiveTimestamp,
});

export type Track = v.InferOutput<typeof trackSchema>;
export type User = v.InferOutput<typeof userSchema>;
export type ListenHistory = v.InferOutput<typeof listenHistorySchema>;

/** The fields each schema names: anything else on a record is drift. */
export function declaredFields(schema: { entries: Record<string, unknown> }): string[] {
  return Object.keys(schema.entries);
}
