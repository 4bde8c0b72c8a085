import type { Db } from 'mongodb';
import type { SourceName } from '../contracts/names.js';

export const REFERENCE_COUNTS_COLLECTION = 'reference_counts';

/**
 * How the counts are made, as a number: counts kept by a version that made them otherwise
 * (other samples, another top list) are made again. Bump it whenever their definition changes.
 */
export const REFERENCE_COUNTS_VERSION = 1;

/** One reference field of a source's live records, against the target's live ids. */
export interface FieldReferences {
  /** Id values the field holds (values that are not ids are in the ledger's `not_ids`). */
  total: number;
  /** Of them, those pointing at no live record of the target. */
  orphans: number;
  /** A few keys of live records holding such a value. */
  samples: string[];
}

/** What the referential checks and the listen-history KPIs count from the key indexes. */
export interface ReferenceCounts {
  fields: Record<string, FieldReferences>;
  /** Keys with at least one value that are live ids of users (listen_history). */
  usersWithListens: number;
  /** Genres of the tracks the values point at, the most referenced first (listen_history). */
  topGenres: { genre: string; listens: number }[];
}

/**
 * The counts last made for a source (`_id` = source), with the key index generations they
 * were made from (the source's and its targets'): a later run whose indexes are the same
 * generations, whatever its date, takes them instead of reading every index again.
 */
export interface ReferenceCountsDocument {
  _id: SourceName;
  /** REFERENCE_COUNTS_VERSION of the code that made them. */
  version: number;
  generations: Partial<Record<SourceName, string>>;
  counts: ReferenceCounts;
  run_id: string;
  counted_at: Date;
}

export const referenceCountsCollection = (db: Db) => db.collection<ReferenceCountsDocument>(REFERENCE_COUNTS_COLLECTION);
