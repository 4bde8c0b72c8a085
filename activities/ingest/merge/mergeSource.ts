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
/** Staged pages read ahead of the one being partitioned. */
const STAGED_PAGES_AHEAD = 4;

/*
 * Partition lines are tab-separated text: a line per record, so no JSON per line.
 *   staged: key, page, position, hash, record JSON; an invalid record that still names
 *           its key has position -1 and no hash or record;
 *   raw:    key, hash, first seen run, last seen run, version run, deleted in run ('' if live).
 */
type RawState = { hash: string; first: string; last: string; version: string; deletedIn: string | null };

function parseRawLine(line: string): [string, RawState] {
  const [key, hash, first, last, version, deletedIn] = line.split('\t') as [string, string, string, string, string, string];
  return [key, { hash, first, last, version, deletedIn: deletedIn === '' ? null : deletedIn }];
}

function parseStagedLine(line: string): { key: string; page: number; position: number; hash: string | null; recordJson: string | null } {
  const cut: number[] = [];
  for (let i = line.indexOf('\t'); i !== -1 && cut.length < 4; i = line.indexOf('\t', i + 1)) cut.push(i);
  const [a, b, c, d] = cut as [number, number, number, number | undefined];
  const position = Number(line.slice(b + 1, c));
  if (position < 0) return { key: line.slice(0, a), page: Number(line.slice(a + 1, b)), position, hash: null, recordJson: null };
  return { key: line.slice(0, a), page: Number(line.slice(a + 1, b)), position, hash: line.slice(c + 1, d), recordJson: line.slice((d as number) + 1) };
}

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
  /** Live records served by this run whose last-seen marker still names an earlier run. */
  let unmarked = 0;

  const rawCount = await raw.estimatedDocumentCount();
  const expected = Math.max(input.expectedRecords, rawCount);
  const partitions = Math.max(1, Math.ceil(expected / (deps.partitionRecords ?? PARTITION_RECORDS)));
  const dir = await mkdtemp(join(deps.tmpDir ?? tmpdir(), `moovitamix-merge-${source.name}-`));
  const timings: Record<string, number> = {};
  let phaseStart = performance.now();
  const phase = (name: string) => {
    timings[name] = Math.round(performance.now() - phaseStart);
    phaseStart = performance.now();
  };
  try {
    const staged = new PartitionFiles(dir, 'staged', partitions);
    // Pages are read a few ahead but partitioned strictly in page order: the order
    // within a partition is what makes the first served copy of a key win.
    const read = (page: number) => {
      const doc = staging.findOne({ _id: String(page) });
      // Observed here so that a read left behind by an early exit cannot crash the worker;
      // the awaiting code still sees its error.
      doc.catch(() => {});
      return doc;
    };
    const ahead = new Map<number, ReturnType<typeof read>>();
    for (let page = 1; page <= input.pages; page++) {
      for (let next = page; next < page + STAGED_PAGES_AHEAD && next <= input.pages; next++) if (!ahead.has(next)) ahead.set(next, read(next));
      const doc = await ahead.get(page);
      ahead.delete(page);
      if (!doc) throw ApplicationFailure.nonRetryable(`page ${page} of ${source.name} is not staged for run ${run}`, 'MergeInputMissing');
      const records = decodeRecords(doc.records);
      for (let position = 0; position < records.length; position++) {
        const [key, hash, recordJson] = records[position] as [string, string, string];
        const wait = staged.write(key, `${key}\t${page}\t${position}\t${hash}\t${recordJson}`);
        if (wait) await wait;
      }
      for (const key of doc.invalidKeys) await staged.write(key, `${key}\t${page}\t-1`);
      if (page % 100 === 0) heartbeat({ phase: 'partition staged pages', page });
    }
    await staged.close();
    phase('partitionStagedMs');

    const existing = new PartitionFiles(dir, 'raw', partitions);
    const cursor = raw.find({}, { projection: { hash: 1, first_seen_run: 1, last_seen_run: 1, version_run: 1, deleted_in_run: 1 } }).batchSize(2000);
    let scanned = 0;
    for await (const d of cursor) {
      const wait = existing.write(d._id, `${d._id}\t${d.hash}\t${d.first_seen_run}\t${d.last_seen_run}\t${d.version_run}\t${d.deleted_in_run ?? ''}`);
      if (wait) await wait;
      if (++scanned % 20_000 === 0) heartbeat({ phase: 'partition raw documents', scanned });
    }
    await existing.close();
    phase('partitionRawMs');

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
      for (const doc of source.curate(record)) {
        const wait = curated.add(doc);
        if (wait) await wait;
      }
    };
    // Keys whose last-seen marker must move, spilled to disk: how to write them is
    // decided once their number is known.
    const toMark = new PartitionFiles(dir, 'mark', 1);
    const markLater = async (key: string) => {
      unmarked++;
      await toMark.write(key, key);
    };

    for (let bucket = 0; bucket < partitions; bucket++) {
      const state = new Map<string, RawState>();
      for await (const line of existing.read(bucket)) {
        const [key, s] = parseRawLine(line);
        state.set(key, s);
      }
      const kept = new Map<string, number>();
      const changed: { key: string; hash: string; record: Record<string, unknown> }[] = [];
      const bodiesFor: string[] = [];

      for await (const line of staged.read(bucket)) {
        const { key, page, position, hash, recordJson } = parseStagedLine(line);
        const keptPage = kept.get(key);
        if (keptPage !== undefined) {
          if (hash !== null && recordJson !== null) {
            stats.duplicates++;
            await writes.quarantine.add(duplicateDocument(source, run, key, page, position, keptPage, recordJson, now));
          }
          continue;
        }
        kept.set(key, page);
        const s = state.get(key);
        if (hash === null || recordJson === null) {
          // Invalid this run, but the key exists upstream: keep the stored version live.
          if (s && s.deletedIn === null) {
            bodiesFor.push(key);
            if (s.last !== run) await markLater(key);
          }
          continue;
        }
        const record = JSON.parse(recordJson) as Record<string, unknown>;
        if (!s) {
          stats.inserted++;
          const wait = writes.inserts.add({
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
          if (wait) await wait;
        } else if (s.last === run) {
          // Merged by an earlier attempt of this run: report what it did.
          if (s.first === run) stats.inserted++;
          else if (s.version === run) stats.updated++;
          else stats.unchanged++;
        } else if (s.hash === hash && s.deletedIn === null) {
          stats.unchanged++;
          await markLater(key);
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
        if (s.deletedIn !== null) {
          if (s.deletedIn === run) stats.tombstoned++;
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

    phase('mergeMs');
    await Promise.all(Object.values(writes).map((w) => w.close()));
    await curated.close();
    phase('flushMs');
    stats.historyVersions = writes.history.written;
    stats.curatedDocuments = curated.written;
    await toMark.close();
    if (input.complete && unmarked > rawCount / 10) {
      // Most records: one statement marks every live record (served by a complete run).
      // On FerretDB it scans the collection, which pays only when many match.
      await raw.updateMany({ deleted_at: null, last_seen_run: { $ne: run } }, { $set: { last_seen_run: run, last_seen_at: now } });
    } else if (unmarked > 0) {
      const marks = new BatchUpdater(raw);
      for await (const key of toMark.read(0)) await marks.add(markSeen(key, run, now));
      await marks.close();
    }
    phase('markMs');

    // Swap the rebuilt curated collection in: readers see the old one or the new one.
    await db.collection(source.curatedCollection).drop().catch(() => {});
    if (curated.written > 0) await db.collection(nextName).rename(source.curatedCollection);
    else await db.collection(nextName).drop().catch(() => {});
    phase('swapMs');
    log.info('source merged', { source: source.name, run, complete: input.complete, partitions, ...stats, ...timings });
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
  recordJson: string,
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
    record_json: recordJson,
    issues: [{ path: source.keyField, message: `duplicate key ${key}: the copy on page ${keptPage} (the first served) is kept` }],
    quarantined_at: now,
  };
}
