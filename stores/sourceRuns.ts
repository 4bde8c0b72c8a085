import type { Db } from 'mongodb';
import type { SourceDescription } from '../sources/index.js';
import { rawCollection } from './raw.js';
import type { MergeStats } from '../contracts/ingest.js';
import type { SourceName } from '../contracts/names.js';
import type { LiveProfileDocument } from '../contracts/health.js';

export const SOURCE_RUNS_COLLECTION = 'source_runs';

/**
 * One merge of one source by one run: the ledger that says what each run saw, so that no
 * record needs a write to say it was seen. A complete run served every record that is
 * live after it; an incomplete run served every live record except those it marks
 * `missed_since_run` (see lastSeenRun). It also carries the live profile the health
 * checks read.
 */
export interface SourceRunDocument extends LiveProfileDocument {
  /** `<source>/<run id>`: a retried merge replaces it. */
  _id: string;
  source: SourceName;
  /** The raw collection merged into (what lastSeenRun orders runs of). */
  raw_collection: string;
  run_id: string;
  complete: boolean;
  /** When the run's first successful merge ended: the order of the ledger. */
  first_merged_at: Date;
  merged_at: Date;
  stats: MergeStats;
  sizes?: SourceSizes;
}

/**
 * Documents in the source's raw, history and curated collections once the merge is done,
 * from what it kept and counted (mergeSource.ts), so that no run walks them to learn
 * their sizes. Absent on ledger entries written before.
 */
export interface SourceSizes {
  raw: number;
  history: number;
  curated: number;
}

export const sourceRunId = (source: string, runId: string) => `${source}/${runId}`;

export function sourceRunsCollection(db: Db) {
  return db.collection<SourceRunDocument>(SOURCE_RUNS_COLLECTION);
}

export async function recordSourceRun(db: Db, doc: Omit<SourceRunDocument, 'first_merged_at'>): Promise<void> {
  const runs = sourceRunsCollection(db);
  await runs.updateOne({ _id: doc._id }, { $set: doc, $setOnInsert: { first_merged_at: doc.merged_at } }, { upsert: true });
}

export function readSourceRun(db: Db, source: SourceName, runId: string): Promise<SourceRunDocument | null> {
  return sourceRunsCollection(db).findOne({ _id: sourceRunId(source, runId) });
}

/**
 * The last run that served a key: the newest merge of its source from its first run on,
 * and before the run that tombstoned it or the incomplete run that first missed it.
 * Null for a key never stored.
 */
export async function lastSeenRun(db: Db, source: SourceDescription, key: string): Promise<string | null> {
  const doc = await rawCollection(db, source).findOne({ _id: key }, { projection: { first_seen_run: 1, deleted_in_run: 1, missed_since_run: 1 } });
  if (!doc) return null;
  const runs = await sourceRunsCollection(db)
    .find({ raw_collection: source.rawCollection }, { projection: { run_id: 1, first_merged_at: 1 } })
    .sort({ first_merged_at: 1 })
    .toArray();
  const order = runs.map((r) => r.run_id);
  const from = order.indexOf(doc.first_seen_run);
  const stops = [doc.deleted_in_run, doc.missed_since_run]
    .filter((r): r is string => typeof r === 'string')
    .map((r) => order.indexOf(r))
    .filter((i) => i >= 0);
  const until = stops.length > 0 ? Math.min(...stops) : order.length;
  return until - 1 >= from && from >= 0 ? (order[until - 1] as string) : doc.first_seen_run;
}
