import type { Db } from 'mongodb';
import type { SourceDescription } from '../sources/index.js';

/** A document of a raw collection: the record as received, keyed by its natural key. */
export interface RawDocument {
  _id: string;
  record: Record<string, unknown>;
  /** SHA-256 of the record's canonical JSON. */
  hash: string;
  first_seen_run: string;
  first_seen_at: Date;
  /**
   * Set by the first incomplete run that did not serve this live key, cleared when a run
   * serves it again. Which run last served a key is answered by the source's merge
   * ledger (sourceRuns.ts `lastSeenRun`), not by a write to every record every day.
   */
  missed_since_run?: string | null;
  /** Written by merges before the ledger existed; no longer kept up to date. */
  last_seen_run?: string;
  last_seen_at?: Date;
  /** The run that stored the current version; valid_from of that version. */
  version_run: string;
  version_at: Date;
  /** Set when a complete run no longer served the key; the record stays. */
  deleted_at?: Date | null;
  deleted_in_run?: string | null;
}

/** A prior version of a raw record (SCD type 2, as dbt snapshots and dlt's scd2 keep them). */
export interface HistoryDocument {
  /** `<key>@<run that stored the version>`: a version is written once. */
  _id: string;
  key: string;
  record: Record<string, unknown>;
  hash: string;
  stored_in_run: string;
  valid_from: Date;
  /** When the next version replaced it, or when the record was tombstoned. */
  valid_to: Date;
  replaced_in_run: string;
}

export function rawCollection(db: Db, source: SourceDescription) {
  return db.collection<RawDocument>(source.rawCollection);
}

/** Where a source's prior versions are kept. */
export const historyCollectionName = (source: Pick<SourceDescription, 'rawCollection'>) => `${source.rawCollection}_history`;

export function historyCollection(db: Db, source: SourceDescription) {
  return db.collection<HistoryDocument>(historyCollectionName(source));
}
