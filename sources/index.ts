import type * as v from 'valibot';
import { listenHistorySchema, trackSchema, userSchema } from './schemas.js';

/**
 * A source is described once: where it is served, what identifies a record and
 * what a record must look like. The same ingest machinery (paging, retries,
 * validation, loading) serves every source; a new endpoint is a new entry here.
 */
export interface SourceDescription {
  name: SourceName;
  /** Path of the list endpoint, relative to MOOVITAMIX_API_URL. */
  path: string;
  /** The field holding the natural key. */
  keyField: string;
  schema: v.GenericSchema<unknown, Record<string, unknown>> & { entries: Record<string, unknown> };
  /** Collection of the raw layer: one document per key, `_id` = String(key). */
  rawCollection: string;
}

export const SOURCE_NAMES = ['tracks', 'users', 'listen_history'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

export const SOURCES: Readonly<Record<SourceName, SourceDescription>> = {
  tracks: { name: 'tracks', path: '/tracks', keyField: 'id', schema: trackSchema, rawCollection: 'raw_tracks' },
  users: { name: 'users', path: '/users', keyField: 'id', schema: userSchema, rawCollection: 'raw_users' },
  listen_history: {
    name: 'listen_history',
    path: '/listen_history',
    keyField: 'user_id',
    schema: listenHistorySchema,
    rawCollection: 'raw_listen_history',
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
