import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heartbeat, log, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { getSource, type SourceDescription } from '../../../sources/index.js';
import { quarantineCollection, type QuarantineDocument } from '../../../stores/quarantine.js';
import { collectionSize } from '../../../stores/collectionSize.js';
import { historyCollectionName, rawCollection } from '../../../stores/raw.js';
import { decodeRecords, stagedPagesInOrder } from '../../../stores/staging.js';
import type { LocalStagedPages } from '../../../stores/localStagedPages.js';
import { LiveProfile } from '../liveProfile.js';
import { decodeFacts, encodeFacts, factsOf, type RecordFacts } from '../recordFacts.js';
import type { StagedRecord } from '../../../stores/stagedRecords.js';
import { readSourceRun, recordSourceRun, sourceRunId } from '../../../stores/sourceRuns.js';
import { findByIds, writeLimits } from '../storeKind.js';
import { applyChanges, type Served } from './applyChanges.js';
import { BatchInserter } from './batchWriters.js';
import {
  keyIndexWriter,
  LEASE_STALE_MS,
  markKeyIndexWriting,
  mergeLeaseHolder,
  NO_EXTRAS,
  openKeyIndex,
  releaseMergeLease,
  saveKeyIndex,
  takeMergeLease,
  type KeyExtras,
  type KeyState,
} from './keyIndex.js';
import { rebuildCurated } from './rebuildCurated.js';
import { keepPageDigests, repeatOf, type KeptPage } from './repeatPages.js';
import { PartitionFiles } from './partitions.js';
import { emptyMergeStats, type MergeStats } from '../../../contracts/ingest.js';
import type { SourceName } from '../../../contracts/names.js';
import type { MergeInput } from '../../../contracts/ingest.js';

/** Records per partition held in memory at once. */
const PARTITION_RECORDS = 20_000;
/**
 * Up to this many, every partition stays in memory instead of going through local files
 * (a few tens of MB): a source a little past one partition need not pay the disk round trip.
 */
const IN_MEMORY_RECORDS = 50_000;
/** How often a merge waiting for another run's merge of the source looks again. */
const LEASE_POLL_MS = 2_000;
/** Staged pages read ahead of the one being partitioned. */
const STAGED_PAGES_AHEAD = 16;

/*
 * Partition lines are tab-separated text: a line per record, so no JSON per line.
 *   staged: key, page, position, hash, facts (recordFacts.ts), record JSON; an invalid
 *           record that still names its key has position -1 and nothing after it;
 *   raw:    key, hash, first seen run, version run, deleted in run, missed since run
 *           ('' when not set).
 */
type RawState = KeyState;

function parseRawLine(line: string): [string, RawState] {
  const [key, hash, first, version, deletedIn, missed] = line.split('\t') as [string, string, string, string, string, string];
  return [key, { hash, first, version, deletedIn: deletedIn === '' ? null : deletedIn, missed: missed === '' ? null : missed }];
}

const rawLine = (key: string, s: RawState) => `${key}\t${s.hash}\t${s.first}\t${s.version}\t${s.deletedIn ?? ''}\t${s.missed ?? ''}`;

/* The key index to be: a raw line, then the label as JSON and the values comma-separated. */
const afterLine = (key: string, s: RawState, x: KeyExtras) => `${rawLine(key, s)}\t${JSON.stringify(x.label)}\t${x.values.join(',')}`;

function parseAfterLine(line: string): [string, RawState, KeyExtras] {
  const cut = line.lastIndexOf('\t');
  const labelCut = line.lastIndexOf('\t', cut - 1);
  const [key, state] = parseRawLine(line.slice(0, labelCut));
  const values = line.slice(cut + 1);
  return [key, state, { label: JSON.parse(line.slice(labelCut + 1, cut)) as string, values: values === '' ? [] : values.split(',').map(Number) }];
}

function parseStagedLine(line: string): { key: string; page: number; position: number; hash: string | null; facts: string | null; recordJson: string | null } {
  const cut: number[] = [];
  for (let i = line.indexOf('\t'); i !== -1 && cut.length < 5; i = line.indexOf('\t', i + 1)) cut.push(i);
  const [a, b, c, d, e] = cut as [number, number, number, number | undefined, number | undefined];
  const position = Number(line.slice(b + 1, c));
  if (position < 0) return { key: line.slice(0, a), page: Number(line.slice(a + 1, b)), position, hash: null, facts: null, recordJson: null };
  return {
    key: line.slice(0, a),
    page: Number(line.slice(a + 1, b)),
    position,
    hash: line.slice(c + 1, d),
    facts: line.slice((d as number) + 1, e),
    recordJson: line.slice((e as number) + 1),
  };
}

export interface MergeDeps {
  db: Db;
  /** Where partitions are spilled; the OS temp directory by default. */
  tmpDir?: string;
  /** Records per partition held in memory at once (tests use small ones). */
  partitionRecords?: number;
  /** The source descriptions; tests give sources collections of their own. */
  sources?: Readonly<Record<SourceName, SourceDescription>>;
  /** false: merge in full even the pages the last clean merge already did (tests compare both). */
  repeatPages?: boolean;
  /** Copies of the pages this process staged: read from there instead of the store. */
  localPages?: LocalStagedPages;
}

/**
 * Applies a run's staged pages to the raw and curated layers of a source, writing only
 * what changed. For each key, the copy on the lowest page (then position) wins; later
 * copies are duplicates, quarantined. A new key is inserted; a changed record is
 * updated and its prior version kept in the history collection; an unchanged one costs
 * no write at all. When the run is complete, keys it did not serve are tombstoned, never
 * removed; an incomplete run marks the live keys it missed instead. The curated documents
 * of the keys written are replaced in place. The run's merge goes into the source's
 * ledger (sourceRuns.ts) with the live profile the health checks read.
 *
 * Idempotent, and safe to resume after a crash: for each partition, history is written
 * first, then curated, then raw, so a raw document that already carries this run's
 * marks has everything before it done; a retry reads back from those marks what an
 * earlier attempt did, writes nothing twice and reports the same counts.
 *
 * A run that served the very pages the last clean merge did is recorded without reading
 * anything else (repeatPages.ts): an unchanged day costs the ledger only.
 *
 * Both sides are hash-partitioned into local files first, so that memory holds one
 * partition at a time whatever the size of the source. One merge of a source runs at a
 * time (a lease on its key index; backfills run dates in parallel): another run's merge
 * waits for it, heartbeating.
 */
export async function mergeSource(deps: MergeDeps, input: MergeInput): Promise<MergeStats> {
  const source = deps.sources ? deps.sources[input.source] : getSource(input.source);
  const { db } = deps;
  const run = input.runId;

  // One merge of a source at a time: another run's waits here, heartbeating.
  while (!(await takeMergeLease(db, source, run))) {
    heartbeat({ phase: 'waiting for another merge of the source', holder: await mergeLeaseHolder(db, source) });
    await sleep(LEASE_POLL_MS);
  }
  let leaseAt = Date.now();
  const renewLease = async () => {
    if (Date.now() - leaseAt < LEASE_STALE_MS / 6) return;
    await takeMergeLease(db, source, run);
    leaseAt = Date.now();
  };
  try {
    return await mergeHeld(deps, input, source, renewLease);
  } finally {
    // Not given back (the store is down): this run's retry takes it again, others once stale.
    await releaseMergeLease(db, source, run).catch((err: unknown) => log.warn('merge lease not released', { source: source.name, run, error: String(err) }));
  }
}

async function mergeHeld(deps: MergeDeps, input: MergeInput, source: SourceDescription, renewLease: () => Promise<void>): Promise<MergeStats> {
  const { db } = deps;
  const run = input.runId;
  const now = new Date();
  const raw = rawCollection(db, source);
  const stats = emptyMergeStats();
  const live = new LiveProfile(source);
  const { bulkStatements, server } = await writeLimits(db);

  // The raw layer's state per key, from its index; read from the raw layer when there is none
  // yet, or when a merge of another run died while writing (then curated is rebuilt too).
  const index = await openKeyIndex(db, source, run);
  const recovering = index === null && (await keyIndexWriter(db, source)) !== null;

  // The same pages as the last clean merge: nothing to read or write but the ledger.
  if (index && deps.repeatPages !== false) {
    const t = performance.now();
    const repeat = await repeatOf(db, source, input);
    const prior = repeat && (await readSourceRun(db, source.name, repeat.run));
    if (repeat && prior) {
      const { _id, run_id, complete, first_merged_at, merged_at, stats: _stats, ...rest } = prior;
      stats.unchanged = repeat.served;
      await recordSourceRun(db, { ...rest, _id: sourceRunId(source.name, run), run_id: run, complete: true, merged_at: new Date(), stats });
      log.info('source merged', {
        source: source.name,
        run,
        complete: input.complete,
        repeatOf: repeat.run,
        ...stats,
        repeatMs: Math.round(performance.now() - t),
      });
      return stats;
    }
  }
  const rawCount = index ? index.keys : await raw.estimatedDocumentCount();
  const expected = Math.max(input.expectedRecords, rawCount);
  const partitions = Math.max(1, Math.ceil(expected / (deps.partitionRecords ?? PARTITION_RECORDS)));
  // Partitions sized by the caller (tests) go through files, so that path stays covered.
  const inMemory = partitions === 1 || (deps.partitionRecords === undefined && expected <= IN_MEMORY_RECORDS);
  const dir = await mkdtemp(join(deps.tmpDir ?? tmpdir(), `moovitamix-merge-${source.name}-`));
  const timings: Record<string, number> = {};
  let phaseStart = performance.now();
  const phase = (name: string) => {
    timings[name] = (timings[name] ?? 0) + Math.round(performance.now() - phaseStart);
    phaseStart = performance.now();
  };
  try {
    // Both sides are partitioned at once: the key index is read while the staged pages are.
    const since = (t: number) => Math.round(performance.now() - t);
    const staged = new PartitionFiles(dir, 'staged', partitions, inMemory);
    /** Each page's digests, records and drift, and whether every page was valid: what repeatPages.ts keeps. */
    const pagesRead: KeptPage[] = [];
    let clean = true;
    const partitionStaged = async () => {
      const t = performance.now();
      // Pages are read a few ahead but partitioned strictly in page order: the order
      // within a partition is what makes the first served copy of a key win.
      for await (const [page, doc] of stagedPagesInOrder(db, source.name, run, input.pages, {}, STAGED_PAGES_AHEAD, deps.localPages)) {
        if (!doc) throw ApplicationFailure.nonRetryable(`page ${page} of ${source.name} is not staged for run ${run}`, 'MergeInputMissing');
        pagesRead[page - 1] = { digest: doc.digest, body: doc.body_digest, fetched: doc.fetched, drift: doc.drift };
        if (doc.invalid > 0 || doc.keylessInvalid > 0) clean = false;
        const records = decodeRecords(doc);
        for (let position = 0; position < records.length; position++) {
          const [key, hash, stagedFacts, recordJson] = records[position] as StagedRecord;
          // A page staged before facts were (a run in flight across an upgrade): worked out here.
          const facts = stagedFacts === '' ? encodeFacts(factsOf(source, JSON.parse(recordJson) as Record<string, unknown>)) : stagedFacts;
          const wait = staged.write(key, `${key}\t${page}\t${position}\t${hash}\t${facts}\t${recordJson}`);
          if (wait) await wait;
        }
        for (const key of doc.invalidKeys) await staged.write(key, `${key}\t${page}\t-1`);
        if (page % 100 === 0) heartbeat({ phase: 'partition staged pages', page });
      }
      await staged.close();
      timings.partitionStagedMs = since(t);
    };

    const existing = new PartitionFiles(dir, 'raw', partitions, inMemory);
    const partitionRaw = async () => {
      const t = performance.now();
      let scanned = 0;
      // A batch per await (a key-index chunk, or a cursor batch of raw documents), not a promise per key.
      const states: AsyncIterable<[string, RawState, ...unknown[]][]> = index
        ? index.chunks({ extras: false })
        : (async function* () {
            const cursor = raw.find({}, { projection: { hash: 1, first_seen_run: 1, version_run: 1, deleted_in_run: 1, missed_since_run: 1 } }).batchSize(2000);
            const batch: [string, RawState][] = [];
            for await (const d of cursor) {
              batch.push([
                d._id,
                { hash: d.hash, first: d.first_seen_run, version: d.version_run, deletedIn: d.deleted_in_run ?? null, missed: d.missed_since_run ?? null },
              ]);
              if (batch.length === 2000) yield batch.splice(0);
            }
            yield batch;
          })();
      for await (const batch of states) {
        for (const [key, s] of batch) {
          const wait = existing.write(key, rawLine(key, s));
          if (wait) await wait;
          if (++scanned % 20_000 === 0) heartbeat({ phase: index ? 'read key index' : 'partition raw documents', scanned });
        }
      }
      await existing.close();
      timings.partitionRawMs = since(t);
    };
    // Both finish before anything is compared: a failure of one still waits for the other's files.
    const sides = await Promise.allSettled([partitionStaged(), partitionRaw()]);
    for (const side of sides) if (side.status === 'rejected') throw side.reason;
    phaseStart = performance.now();

    const quarantine = new BatchInserter(quarantineCollection(db), 500);
    /** Every key's state after the merge: the next key index. */
    const after = new PartitionFiles(dir, 'after', 1, inMemory);
    let wrote = false;
    for (let bucket = 0; bucket < partitions; bucket++) {
      const state = new Map<string, RawState>();
      for (const line of await existing.lines(bucket)) {
        const [key, s] = parseRawLine(line);
        state.set(key, s);
      }
      const kept = new Map<string, number>();
      const inserts: Served[] = [];
      const changes: Served[] = [];
      const tombstones: string[] = [];
      /** Live keys whose marker of a missed run is cleared (served again) or set (missed now). */
      const seenAgain: string[] = [];
      const missedNow: string[] = [];
      /** Live keys the run did not store: their stored body joins the live profile. */
      const storedLive: string[] = [];
      /** What the key index keeps of each live record. */
      const extras = new Map<string, Pick<RecordFacts, 'label' | 'values'>>();

      for (const line of await staged.lines(bucket)) {
        const { key, page, position, hash, facts: factsText, recordJson } = parseStagedLine(line);
        const keptPage = kept.get(key);
        if (keptPage !== undefined) {
          if (hash !== null && recordJson !== null) {
            stats.duplicates++;
            await quarantine.add(duplicateDocument(source, run, key, page, position, keptPage, recordJson, now));
          }
          continue;
        }
        kept.set(key, page);
        const s = state.get(key);
        if (hash === null || recordJson === null) {
          // Invalid this run, but the key exists upstream: the stored version stays live.
          if (s && s.deletedIn === null) {
            storedLive.push(key);
            if (s.missed !== null) seenAgain.push(key);
          }
          continue;
        }
        // The profile and the key index from the record's facts: an unchanged record is never parsed.
        const facts = decodeFacts(factsText as string);
        live.servedFacts(key, facts);
        extras.set(key, facts);
        const record = () => JSON.parse(recordJson) as Record<string, unknown>;
        if (!s) {
          stats.inserted++;
          inserts.push({ key, hash, record: record() });
        } else if (s.hash === hash && s.deletedIn === null) {
          // Stored already; by an earlier attempt of this run if its marks are this run's.
          if (s.first === run) stats.inserted++;
          else if (s.version === run) stats.updated++;
          else stats.unchanged++;
          if (s.version === run) stats.curatedDocuments += source.curate(record()).length;
          if (s.missed !== null) seenAgain.push(key);
        } else {
          stats.updated++;
          changes.push({ key, hash, record: record() });
        }
      }
      for (const [key, s] of state) {
        if (kept.has(key)) continue;
        if (s.deletedIn !== null) {
          if (s.deletedIn === run) stats.tombstoned++;
        } else if (input.complete) {
          stats.tombstoned++;
          tombstones.push(key);
        } else {
          // Not served by an incomplete run: it stays live, and curated.
          storedLive.push(key);
          if (s.missed === null) missedNow.push(key);
        }
      }
      phase('compareMs');

      // Every live key is served (its record is at hand) or read here: the live profile and the key index see them all.
      const stored = await findByIds(db, raw, [...changes.map((c) => c.key), ...tombstones, ...storedLive]);
      for (const key of storedLive) {
        const doc = stored.get(key);
        if (doc) {
          const facts = factsOf(source, doc.record);
          live.liveFacts(key, facts);
          extras.set(key, facts);
        }
      }
      phase('readStoredMs');

      const changed = new Set(changes.map((c) => c.key));
      const [tombstoned, missed, seen] = [new Set(tombstones), new Set(missedNow), new Set(seenAgain)];
      const extrasFor = (key: string) => extras.get(key) ?? NO_EXTRAS;
      for (const [key, s] of state) {
        if (changed.has(key)) continue;
        const next = tombstoned.has(key) ? { ...s, deletedIn: run } : missed.has(key) ? { ...s, missed: run } : seen.has(key) ? { ...s, missed: null } : s;
        const wait = after.write(key, afterLine(key, next, next.deletedIn === null ? extrasFor(key) : NO_EXTRAS));
        if (wait) await wait;
      }
      for (const { key, hash } of inserts)
        await after.write(key, afterLine(key, { hash, first: run, version: run, deletedIn: null, missed: null }, extrasFor(key)));
      for (const { key, hash } of changes)
        await after.write(
          key,
          afterLine(key, { hash, first: (state.get(key) as RawState).first, version: run, deletedIn: null, missed: null }, extrasFor(key)),
        );
      if (inserts.length + changes.length + tombstones.length + seenAgain.length + missedNow.length > 0) {
        if (!wrote) {
          await markKeyIndexWriting(db, source, run);
          wrote = true;
        }
        const written = await applyChanges({ db, source, run, now, bulkStatements }, { inserts, changes, tombstones, seenAgain, missedNow }, stored);
        stats.historyVersions += written.historyVersions;
        stats.curatedDocuments += written.curatedDocuments;
        phase('writeMs');
      }
      heartbeat({ phase: 'merge', bucket, partitions, stats });
      await renewLease();
    }
    await quarantine.close();
    await after.close();
    if (recovering) {
      log.warn('rebuilding the curated collection: a merge of another run died while writing', { source: source.name, run });
      stats.curatedDocuments = await rebuildCurated(db, source, run);
    }
    const history = await historySize(db, source, index, stats, server);
    const rawDocuments =
      wrote || index === null || index.history === null
        ? await saveKeyIndex(
            db,
            source,
            run,
            (async function* () {
              for (const line of await after.lines(0)) yield parseAfterLine(line);
            })(),
            history,
          )
        : index.keys;
    phase('keyIndexMs');

    await recordSourceRun(db, {
      _id: sourceRunId(source.name, run),
      source: source.name,
      raw_collection: source.rawCollection,
      run_id: run,
      complete: input.complete,
      merged_at: new Date(),
      stats,
      sizes: { raw: rawDocuments, history, curated: live.curatedDocuments },
      ...live.toDocument(),
    });
    await keepPageDigests(
      db,
      source,
      run,
      input.complete && clean && stats.duplicates === 0 ? pagesRead : null,
      stats.inserted + stats.updated + stats.unchanged,
    );
    phase('ledgerMs');
    // Merged: the pages are not read again here (a retry of a merge whose completion was lost reads the store's).
    await deps.localPages?.forget(db.databaseName, source.name, run);
    log.info('source merged', { source: source.name, run, complete: input.complete, partitions, ...stats, ...timings });
    return stats;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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

/**
 * The history collection's documents after the merge. From the index's figure: a clean save
 * counted every prior version written before it, so this attempt adds those it inserted;
 * an index saved before any of the run's versions (a retry of an attempt cut short) adds one
 * per key the run updated, whichever attempt wrote it (history is written before raw, whose
 * marks say a key is done). Counted otherwise: exactly, by FerretDB's page walk or MongoDB's
 * `countDocuments` (its metadata count can drift after an unclean shutdown).
 */
async function historySize(
  db: Db,
  source: SourceDescription,
  index: Awaited<ReturnType<typeof openKeyIndex>>,
  stats: MergeStats,
  server: 'mongodb' | 'ferretdb',
): Promise<number> {
  const known = index?.history;
  if (known) return known.documents + (known.excludes === 'none of the run' ? stats.historyVersions : stats.updated);
  const name = historyCollectionName(source);
  return server === 'mongodb' ? db.collection(name).countDocuments({}) : collectionSize(db, name);
}
