import type * as v from 'valibot';
import { SOURCE_NAMES, type SourceName } from '../contracts/names.js';
import { FAVORITE_GENRES, GENDERS } from './contract.js';
import { curateListenHistory, curateTrack, curateUser } from './curated.js';
import { listenHistorySchema, trackSchema, userSchema, type ListenHistory, type Track, type User } from './schemas.js';

/**
 * A source is described once: where it is served, what identifies a record, what a
 * record must look like, and what it becomes in the curated layer. The same ingest
 * machinery (paging, retries, validation, staging, merge, curated layer) serves
 * every source; a new endpoint is a new entry here.
 */
export interface SourceDescription {
  name: SourceName;
  /** Path of the list endpoint, relative to MOOVITAMIX_API_URL. */
  path: string;
  /** The field holding the natural key. */
  keyField: string;
  schema: v.GenericSchema<unknown, Record<string, unknown>> & { entries: Record<string, unknown> };
  /** Raw layer: one document per key, `_id` = String(key); prior versions in `<rawCollection>_history`. */
  rawCollection: string;
  /** Curated layer: typed documents of the live records. */
  curatedCollection: string;
  /** A valid record as the curated documents it becomes (each with a string `_id`). */
  curate(record: Record<string, unknown>): { _id: string }[];
  /**
   * What the key index keeps of each live record for readers of the whole live data (the
   * recommender): a label and a list of numbers.
   */
  indexed?: { label?: (record: Record<string, unknown>) => string; values?: (record: Record<string, unknown>) => number[] };
  /** Fields whose values must come from a fixed set (checked, not enforced: see schemas.ts). */
  acceptedValues?: Record<string, readonly string[]>;
  /** Fields holding keys of another source's records (one key, or a list of them). */
  references?: { field: string; target: SourceName; check: 'orphan_users' | 'orphan_tracks' }[];
  /** The field whose newest value says how fresh the data is. */
  freshnessField: string;
}

export const SOURCES: Readonly<Record<SourceName, SourceDescription>> = {
  tracks: {
    name: 'tracks',
    path: '/tracks',
    keyField: 'id',
    schema: trackSchema,
    rawCollection: 'raw_tracks',
    curatedCollection: 'tracks',
    curate: (r) => curateTrack(r as Track),
    indexed: { label: (r) => String(r.genres ?? '') },
    freshnessField: 'updated_at',
  },
  users: {
    name: 'users',
    path: '/users',
    keyField: 'id',
    schema: userSchema,
    rawCollection: 'raw_users',
    curatedCollection: 'users',
    curate: (r) => curateUser(r as User),
    indexed: { label: (r) => String(r.favorite_genres ?? '') },
    acceptedValues: { gender: GENDERS, favorite_genres: FAVORITE_GENRES },
    freshnessField: 'updated_at',
  },
  listen_history: {
    name: 'listen_history',
    path: '/listen_history',
    keyField: 'user_id',
    schema: listenHistorySchema,
    rawCollection: 'raw_listen_history',
    curatedCollection: 'listens',
    curate: (r) => curateListenHistory(r as ListenHistory),
    indexed: { values: (r) => (Array.isArray(r.items) ? (r.items as unknown[]).filter((i): i is number => typeof i === 'number') : []) },
    references: [
      { field: 'user_id', target: 'users', check: 'orphan_users' },
      { field: 'items', target: 'tracks', check: 'orphan_tracks' },
    ],
    freshnessField: 'updated_at',
  },
};

export function isSourceName(name: string): name is SourceName {
  return (SOURCE_NAMES as readonly string[]).includes(name);
}

export function getSource(name: string): SourceDescription {
  if (!isSourceName(name)) {
    throw new Error(`Unknown source "${name}"; known sources: ${SOURCE_NAMES.join(', ')}`);
  }
  return SOURCES[name];
}
