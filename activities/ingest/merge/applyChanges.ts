import type { Db } from 'mongodb';
import type { SourceDescription } from '../../../sources/index.js';
import { historyCollection, rawCollection, type HistoryDocument, type RawDocument } from '../../../stores/raw.js';
import { BatchInserter, BatchUpdater } from './batchWriters.js';
import { deleteByIds } from '../storeKind.js';

/** A record the run served, with its content hash. */
export type Served = { key: string; hash: string; record: Record<string, unknown> };

/** What a partition of a merge changes. */
export interface Changes {
  inserts: Served[];
  changes: Served[];
  tombstones: string[];
  /** Live keys served again after an incomplete run missed them. */
  seenAgain: string[];
  /** Live keys an incomplete run did not serve. */
  missedNow: string[];
}

export interface WriteContext {
  db: Db;
  source: SourceDescription;
  run: string;
  now: Date;
  /** Statements per bulk command (storeKind.ts writeLimits). */
  bulkStatements: number;
}

/**
 * Every write the merge makes to a source's raw, history and curated collections, for one
 * partition, in the order that makes a crash safe to resume from: prior versions to
 * history first, then the curated documents of every key written (replaced in place),
 * last the raw documents, whose marks say a key is done. Inserts go in batches, a few in
 * flight; updates and replaces by `_id` in bulk commands; deletes by `_id`, a thousand to a
 * statement where the store reads `$in` through its index (storeKind.ts). `stored` holds the raw
 * documents of the changed and tombstoned keys, as they were before the run.
 */
export async function applyChanges(
  ctx: WriteContext,
  c: Changes,
  stored: Map<string, RawDocument>,
): Promise<{ historyVersions: number; curatedDocuments: number }> {
  const { db, source, run, now, bulkStatements } = ctx;
  const raw = rawCollection(db, source);
  const curatedCollection = db.collection<{ _id: string }>(source.curatedCollection);
  const { inserts, changes, tombstones, seenAgain, missedNow } = c;
  let curatedDocuments = 0;

  // Prior versions first: a crash after them writes the same history documents again, skipped.
  const history = new BatchInserter(historyCollection(db, source), 500);
  for (const { key } of changes) {
    const before = stored.get(key);
    // A version this run stored (an earlier attempt) is not a prior version.
    if (before && before.version_run !== run) await history.add(historyDocument(key, before, run, now));
  }
  await history.close();

  // Then the curated documents of every key written, replaced in place.
  const curatedInserts = new BatchInserter(curatedCollection);
  const curatedWrites = new BatchUpdater(curatedCollection, bulkStatements);
  for (const { record } of inserts) {
    for (const doc of source.curate(record)) {
      curatedDocuments++;
      await curatedInserts.add(doc);
    }
  }
  /** Curated documents no version written now yields: deleted by id, many to a statement where the store allows. */
  const curatedDeletes: string[] = [];
  for (const { key, record } of changes) {
    const docs = source.curate(record);
    curatedDocuments += docs.length;
    for (const doc of docs) await curatedWrites.add({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } });
    const before = stored.get(key);
    // What the prior version yielded and this one does not (a shorter listen history).
    if (before && !before.deleted_in_run) {
      const kept = new Set(docs.map((d) => d._id));
      for (const old of source.curate(before.record)) if (!kept.has(old._id)) curatedDeletes.push(old._id);
    }
  }
  for (const key of tombstones) {
    const before = stored.get(key);
    if (before) for (const old of source.curate(before.record)) curatedDeletes.push(old._id);
  }
  await Promise.all([curatedInserts.close(), curatedWrites.close(), deleteByIds(db, curatedCollection, curatedDeletes)]);

  // Last the raw documents, whose marks say the key is done.
  const rawInserts = new BatchInserter(raw);
  const rawWrites = new BatchUpdater(raw, bulkStatements);
  for (const { key, hash, record } of inserts) {
    await rawInserts.add({ _id: key, record, hash, first_seen_run: run, first_seen_at: now, version_run: run, version_at: now });
  }
  for (const { key, hash, record } of changes) {
    await rawWrites.add({
      updateOne: {
        filter: { _id: key },
        update: { $set: { record, hash, version_run: run, version_at: now }, $unset: { deleted_at: '', deleted_in_run: '', missed_since_run: '' } },
      },
    });
  }
  for (const key of tombstones) await rawWrites.add({ updateOne: { filter: { _id: key }, update: { $set: { deleted_at: now, deleted_in_run: run } } } });
  for (const key of seenAgain) await rawWrites.add({ updateOne: { filter: { _id: key }, update: { $unset: { missed_since_run: '' } } } });
  for (const key of missedNow) await rawWrites.add({ updateOne: { filter: { _id: key }, update: { $set: { missed_since_run: run } } } });
  await Promise.all([rawInserts.close(), rawWrites.close()]);
  return { historyVersions: history.written, curatedDocuments };
}

function historyDocument(key: string, before: RawDocument, run: string, now: Date): HistoryDocument {
  return {
    _id: `${key}@${before.version_run}`,
    key,
    record: before.record,
    hash: before.hash,
    stored_in_run: before.version_run,
    valid_from: before.version_at,
    valid_to: before.deleted_at ?? now,
    replaced_in_run: run,
  };
}
