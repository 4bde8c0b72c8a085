import type { Collection, Db, MongoBulkWriteError } from 'mongodb';
import type { Issue } from '../contracts/ingest.js';

export const QUARANTINE_COLLECTION = 'quarantine';

/**
 * A record kept out of the raw layer, with why: it broke the contract (`invalid`), or
 * it repeated a key already taken by a copy on an earlier page or position of the same
 * run (`duplicate`). Never dropped silently.
 */
export interface QuarantineDocument {
  /** `<run>:<source>:<page>:<index>`: storing a page again quarantines nothing twice. */
  _id: string;
  reason: 'invalid' | 'duplicate';
  source: string;
  run_id: string;
  page: number;
  index: number;
  /** The key, when it could be read. */
  key: string | null;
  /** The record exactly as received, as JSON text: whatever it holds can be stored. */
  record_json: string;
  /** What is wrong: valibot's issues, or for a duplicate where the kept copy stands. */
  issues: Issue[];
  quarantined_at: Date;
}

export function quarantineCollection(db: Db): Collection<QuarantineDocument> {
  return db.collection<QuarantineDocument>(QUARANTINE_COLLECTION);
}

/** Inserts documents, skipping those whose `_id` exists; returns how many were skipped. */
export async function insertIgnoringDuplicates<T extends { _id: string }>(collection: Collection<T>, docs: T[]): Promise<number> {
  if (docs.length === 0) return 0;
  try {
    // The driver's OptionalUnlessRequiredId cannot see that T carries its own _id.
    await collection.insertMany(docs as unknown as Parameters<Collection<T>['insertMany']>[0], { ordered: false });
    return 0;
  } catch (err) {
    const e = err as MongoBulkWriteError;
    const writeErrors = e.writeErrors === undefined ? [] : Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
    if (e.code !== 11000 && !(writeErrors.length > 0 && writeErrors.every((w) => w.code === 11000))) throw err;
    return Math.max(writeErrors.length, 1);
  }
}
