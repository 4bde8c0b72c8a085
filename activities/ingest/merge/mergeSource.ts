import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { getSource, type SourceDescription, type SourceName } from '../../../sources/index.js';
import { mapLimit } from '../mapLimit.js';
import { quarantineCollection, type QuarantineDocument } from '../quarantine.js';
import { historyCollection, rawCollection, type HistoryDocument, type RawDocument } from '../raw.js';
import { decodeRecords, stagingCollection } from '../staging.js';
import { emptyMergeStats, type MergeStats } from '../stats.js';
import type { MergeInput } from '../types.js';
import { BatchInserter, BatchUpdater } from './batchWriters.js';
import { PartitionFiles } from './partitions.js';

/** Records per partition held in memory at once. */
const PARTITION_RECORDS = 20_000;

/** A staged record in its partition: [key, page, position, hash, record]; hash null for an invalid record that still names its key. */
type StagedLine = [string, number, number, string | null, Record<string, unknown> | null];
/** A raw document's state in its partition: [key, hash, first run, last run, version run, deleted in run]. */
type RawLine = [string, string, string, string, string, string | null];

export interface MergeDeps {
  db: Db;
  /** Where partitions are spilled; the OS temp directory by default. */
  tmpDir?: string;
  /** Records per partition held in memory at once (tests use small ones). */
  partitionRecords?: number;
  /** The source descriptions; tests give sources collections of their own. */
  sources?: Readonly<Record<SourceName, SourceDescription>>;
}

/**
 * Applies a run's staged pages to the raw layer of a source and rebuilds its curated
 * collection. For each key, the copy on the lowest page (then position) wins; later
 * copies are duplicates, quarantined. A new key is inserted; a changed record is
 * updated and its prior version kept in the history collection; an unchanged one only
 * has its last-seen marker moved. When the run is complete, keys it did not serve are
 * tombstoned, never removed. Idempotent: a retried merge reads back, from each raw
 * document's run markers, what an earlier attempt did, writes nothing twice and
 * reports the same counts.
 *
 * Both sides are hash-partitioned into local files first, so that memory holds one
 * partition at a time whatever the size of the source.
 */
export async function mergeSource(deps: MergeDeps, input: MergeInput): Promise<MergeStats> {
  const source = deps.sources ? deps.sources[input.source] : getSource(input.source);
  const { db } = deps;
  const run = input.runId;
  const now = new Date();
  const raw = rawCollection(db, source);
  const staging = stagingCollection(db, source.name, run);
  const nextName = `${source.curatedCollection}__next_${run.replace(/[^A-Za-z0-9]/g, '')}`;
  const stats = emptyMergeStats();

  const expected = Math.max(input.expectedRecords, await raw.estimatedDocumentCount());
  const partitions = Math.max(1, Math.ceil(expected / (deps.partitionRecords ?? PARTITION_RECORDS)));
  const dir = await mkdtemp(join(deps.tmpDir ?? tmpdir(), `moovitamix-merge-${source.name}-`));
  try {
    const staged = new PartitionFiles(dir, 'staged', partitions);
    for (let page = 1; page <= input.pages; page++) {
      const doc = await staging.findOne({ _id: String(page) });
      if (!doc) throw ApplicationFailure.nonRetryable(`page ${page} of ${source.name} is not staged for run ${run}`, 'MergeInputMissing');
      const records = decodeRecords(doc.records);
      for (let position = 0; position < records.length; position++) {
        const [key, hash, record] = records[position] as [string, string, Record<string, unknown>];
        await staged.write(key, [key, page, position, hash, record] satisfies StagedLine);
      }
      for (const key of doc.invalidKeys) await staged.write(key, [key, page, -1, null, null] satisfies StagedLine);
      if (page % 100 === 0) heartbeat({ phase: 'partition staged pages', page });
    }
    await staged.close();

    const existing = new PartitionFiles(dir, 'raw', partitions);
    const cursor = raw.find({}, { projection: { hash: 1, first_seen_run: 1, last_seen_run: 1, version_run: 1, deleted_in_run: 1 } }).batchSize(2000);
    let scanned = 0;
    for await (const d of cursor) {
      await existing.write(d._id, [d._id, d.hash, d.first_seen_run, d.last_seen_run, d.version_run, d.deleted_in_run ?? null] satisfies RawLine);
      if (++scanned % 20_000 === 0) heartbeat({ phase: 'partition raw documents', scanned });
    }
    await existing.close();

    // The curated collection is built aside and swapped in at the end.
    await db.collection(nextName).drop().catch(() => {});
    const curated = new BatchInserter(db.collection<{ _id: string }>(nextName));
    const writes = {
      inserts: new BatchInserter(raw),
      updates: new BatchUpdater(raw),
      history: new BatchInserter(historyCollection(db, source), 500),
      quarantine: new BatchInserter(quarantineCollection(db), 500),
    };
    const curate = async (record: Record<string, unknown>) => {
      for (const doc of source.curate(record)) await curated.add(doc);
    };

    for (let bucket = 0; bucket < partitions; bucket++) {
      const state = new Map<string, RawLine>();
      for await (const line of existing.read<RawLine>(bucket)) state.set(line[0], line);
      const kept = new Map<string, number>();
      const changed: { key: string; hash: string; record: Record<string, unknown> }[] = [];
      const bodiesFor: string[] = [];

      for await (const [key, page, position, hash, record] of staged.read<StagedLine>(bucket)) {
        const keptPage = kept.get(key);
        if (keptPage !== undefined) {
          if (hash !== null && record !== null) {
            stats.duplicates++;
            await writes.quarantine.add(duplicateDocument(source, run, key, page, position, keptPage, record, now));
          }
          continue;
        }
        kept.set(key, page);
        const s = state.get(key);
        if (hash === null || record === null) {
          // Invalid this run, but the key exists upstream: keep the stored version live.
          if (s && s[5] === null) {
            bodiesFor.push(key);
            if (!input.complete && s[3] !== run) await writes.updates.add(markSeen(key, run, now));
          }
          continue;
        }
        if (!s) {
          stats.inserted++;
          await writes.inserts.add({
            _id: key,
            record,
            hash,
            first_seen_run: run,
            first_seen_at: now,
            last_seen_run: run,
            last_seen_at: now,
            version_run: run,
            version_at: now,
          });
        } else if (s[3] === run) {
          // Merged by an earlier attempt of this run: report what it did.
          if (s[2] === run) stats.inserted++;
          else if (s[4] === run) stats.updated++;
          else stats.unchanged++;
        } else if (s[1] === hash && s[5] === null) {
          stats.unchanged++;
          // A complete run marks every live record seen in one statement at the end.
          if (!input.complete) await writes.updates.add(markSeen(key, run, now));
        } else {
          stats.updated++;
          changed.push({ key, hash, record });
        }
        await curate(record);
      }

      // Prior versions go to history before the raw document changes: a crash in
      // between writes the same history document again, which is skipped.
      await mapLimit(changed, 16, async ({ key, hash, record }) => {
        const before = await raw.findOne({ _id: key });
        if (before) await writes.history.add(historyDocument(key, before, run, now));
        await writes.updates.add({
          updateOne: {
            filter: { _id: key },
            update: {
              $set: { record, hash, version_run: run, version_at: now, last_seen_run: run, last_seen_at: now },
              $unset: { deleted_at: '', deleted_in_run: '' },
            },
          },
        });
      });

      for (const [key, s] of state) {
        if (kept.has(key)) continue;
        if (s[5] !== null) {
          if (s[5] === run) stats.tombstoned++;
        } else if (input.complete) {
          stats.tombstoned++;
          await writes.updates.add({ updateOne: { filter: { _id: key }, update: { $set: { deleted_at: now, deleted_in_run: run } } } });
        } else {
          // Not served by an incomplete run: it stays live, and curated.
          bodiesFor.push(key);
        }
      }
      await mapLimit(bodiesFor, 16, async (key) => {
        const doc = await raw.findOne({ _id: key }, { projection: { record: 1 } });
        if (doc) await curate(doc.record);
      });
      heartbeat({ phase: 'merge', bucket, partitions, stats });
    }

    await Promise.all(Object.values(writes).map((w) => w.close()));
    await curated.close();
    stats.historyVersions = writes.history.written;
    stats.curatedDocuments = curated.written;
    if (input.complete) {
      await raw.updateMany({ deleted_at: null, last_seen_run: { $ne: run } }, { $set: { last_seen_run: run, last_seen_at: now } });
    }

    // Swap the rebuilt curated collection in: readers see the old one or the new one.
    await db.collection(source.curatedCollection).drop().catch(() => {});
    if (curated.written > 0) await db.collection(nextName).rename(source.curatedCollection);
    else await db.collection(nextName).drop().catch(() => {});
    log.info('source merged', { source: source.name, run, complete: input.complete, partitions, ...stats });
    return stats;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function markSeen(key: string, run: string, now: Date) {
  return { updateOne: { filter: { _id: key }, update: { $set: { last_seen_run: run, last_seen_at: now } } } };
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

function duplicateDocument(
  source: SourceDescription,
  run: string,
  key: string,
  page: number,
  position: number,
  keptPage: number,
  record: Record<string, unknown>,
  now: Date,
): QuarantineDocument {
  return {
    _id: `${run}:${source.name}:${page}:duplicate-${position}`,
    reason: 'duplicate',
    source: source.name,
    run_id: run,
    page,
    index: position,
    key,
    record_json: JSON.stringify(record),
    issues: [{ path: source.keyField, message: `duplicate key ${key}: the copy on page ${keptPage} (the first served) is kept` }],
    quarantined_at: now,
  };
}
