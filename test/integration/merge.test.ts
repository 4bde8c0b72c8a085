import { expect } from 'chai';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Binary, type Db } from 'mongodb';
import { contentHash } from '../../activities/ingest/canonicalJson.js';
import { BatchInserter } from '../../activities/ingest/merge/batchWriters.js';
import { LEASE_STALE_MS, markKeyIndexWriting, mergeLeaseHolder, releaseMergeLease, takeMergeLease } from '../../activities/ingest/merge/keyIndex.js';
import { mergeSource } from '../../activities/ingest/merge/mergeSource.js';
import { quarantineCollection } from '../../stores/quarantine.js';
import { decodeRecords, deleteStagedPages, findStagedPage, stagingCollection } from '../../stores/staging.js';
import { gzipRecords, rangeDigest, recordsText, RECORDS_WITH_FACTS, type StagedRecord } from '../../stores/stagedRecords.js';
import { historyCollection, rawCollection } from '../../stores/raw.js';
import { lastSeenRun, readSourceRun } from '../../stores/sourceRuns.js';
import { track } from '../support/fixtures.js';
import { SOURCES, type SourceDescription } from '../../sources/index.js';
import { stagePages } from '../support/staging.js';
import { getTestStack } from '../support/testStack.js';
import type { MergeStats, RangeDigest } from '../../contracts/ingest.js';
import type { SourceName } from '../../contracts/names.js';
import type { MergeInput } from '../../contracts/ingest.js';

// mergeSource against the real MongoDB-protocol server of the test stack.

const named = (id: number, name: string) => track(id, { name });
const tracks = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => track(from + i));

describe('mergeSource (real MongoDB-protocol server)', function () {
  this.timeout(120_000);
  let db: Db;
  let source: SourceDescription;
  let n = 0;

  before(async () => {
    const stack = await getTestStack();
    db = (await stack.mongo()).db(`${stack.mongodbDb}_merge`);
  });

  beforeEach(() => {
    // Collections of their own per test.
    n++;
    source = { ...SOURCES.tracks, rawCollection: `raw_tracks_m${n}`, curatedCollection: `tracks_m${n}` };
  });

  // Run ids name staging collections: each test's are its own ("run-1" of test 3 is "t3-run-1").
  const runOf = (runId: string) => `t${n}-${runId}`;
  const merge = async (runId: string, pages: unknown[][], options: { complete?: boolean; partitionRecords?: number } = {}): Promise<MergeStats> => {
    await stagePages(db, source, runOf(runId), pages);
    return runMerge(runId, pages.length, options);
  };
  const runMerge = (
    runId: string,
    pages: number,
    { complete = true, partitionRecords }: { complete?: boolean; partitionRecords?: number } = {},
  ): Promise<MergeStats> => {
    const input: MergeInput = { source: 'tracks', runId: runOf(runId), pages, complete, expectedRecords: 0 };
    return new MockActivityEnvironment().run((i: MergeInput) => mergeSource({ db, partitionRecords, sources: { ...SOURCES, tracks: source } }, i), input);
  };
  const raw = () => rawCollection(db, source);
  const curated = () => db.collection<{ _id: string; name?: string }>(source.curatedCollection);
  /** One attempt of a run's merge of its one staged page, 100 records a partition, through this description of the source (one that fails). */
  const attemptMerge = (runId: string, description: SourceDescription) =>
    new MockActivityEnvironment().run((i: MergeInput) => mergeSource({ db, partitionRecords: 100, sources: { ...SOURCES, tracks: description } }, i), {
      source: 'tracks',
      runId: runOf(runId),
      pages: 1,
      complete: true,
      expectedRecords: 0,
    } as MergeInput);
  /** The sizes a run's merge kept in its ledger are the collections' own counts. */
  const expectSizes = async (runId: string, name: SourceName = 'tracks') => {
    const ledger = await readSourceRun(db, name, runOf(runId));
    expect(ledger?.sizes, `the sizes ${runId} kept`).to.deep.equal({
      raw: await raw().countDocuments(),
      history: await historyCollection(db, source).countDocuments(),
      curated: await db.collection(source.curatedCollection).countDocuments(),
    });
  };
  const counts = (partial: Partial<MergeStats>): MergeStats => ({
    inserted: 0,
    updated: 0,
    unchanged: 0,
    duplicates: 0,
    tombstoned: 0,
    historyVersions: 0,
    curatedDocuments: 0,
    ...partial,
  });

  it('inserts new records, builds the curated collection with typed fields', async () => {
    const stats = await merge('run-1', [tracks(1, 100), tracks(101, 150)]);
    expect(stats).to.deep.equal(counts({ inserted: 150, curatedDocuments: 150 }));
    const doc = await raw().findOne({ _id: '42' });
    expect(doc?.record).to.deep.equal(track(42));
    expect(doc).to.include({ hash: contentHash(track(42)), first_seen_run: runOf('run-1'), version_run: runOf('run-1') });
    expect(await lastSeenRun(db, source, '42')).to.equal(runOf('run-1'));
    const ledger = await readSourceRun(db, 'tracks', runOf('run-1'));
    expect(ledger).to.include({ complete: true, live: 150, raw_collection: source.rawCollection });
    expect(ledger?.profile.records, 'the profile of the records the run stored').to.equal(150);
    const c = await curated().findOne({ _id: '42' });
    expect(c).to.deep.include({ id: 42, duration: '03:30', duration_seconds: 210, created_at: new Date('2022-01-01T00:00:00Z') });
    expect(await curated().countDocuments()).to.equal(150);
    expect(ledger?.sizes).to.deep.equal({ raw: 150, history: 0, curated: 150 });
  });

  it('merges pages staged before records carried their facts (a run in flight across the upgrade) as it merges new ones', async () => {
    const records = [...tracks(1, 30), track(31, { name: '' }), track(32, { updated_at: '2030-01-01T00:00:00' })];
    expect(await merge('run-1', [records.slice(0, 20), records.slice(20)])).to.deep.equal(counts({ inserted: 32, curatedDocuments: 32 }));
    const fresh = await readSourceRun(db, 'tracks', runOf('run-1'));
    // The same pages as an older worker staged them: three fields a line, no format.
    const pages = await stagingCollection(db)
      .find({ run_id: runOf('run-1') })
      .sort({ page: 1 })
      .toArray();
    expect(pages.every((p) => p.format === RECORDS_WITH_FACTS)).to.equal(true);
    const old = (p: (typeof pages)[number]) => {
      const { format: _f, ...rest } = p;
      return {
        ...rest,
        _id: p._id.replace(runOf('run-1'), runOf('run-old')),
        run_id: runOf('run-old'),
        records: new Binary(gzipRecords(recordsText(decodeRecords(p).map(([k, h, , j]) => [k, h, j] as unknown as StagedRecord))).subarray()),
      };
    };
    source = { ...SOURCES.tracks, rawCollection: `raw_tracks_m${n}_old`, curatedCollection: `tracks_m${n}_old` };
    await stagingCollection(db).insertMany(pages.map(old));
    expect(await runMerge('run-old', 2)).to.deep.equal(counts({ inserted: 32, curatedDocuments: 32 }));
    const upgraded = await readSourceRun(db, 'tracks', runOf('run-old'));
    expect(upgraded?.profile).to.deep.equal(fresh?.profile);
    expect(upgraded?.profile.fields.name?.missing.samples).to.deep.equal(['31']);
    expect(upgraded?.live).to.equal(32);
  });

  it('is idempotent: merging the same run again reports the same counts and changes nothing', async () => {
    const first = await merge('run-1', [tracks(1, 60)]);
    const snapshot = await raw().find().sort({ _id: 1 }).toArray();
    const again = await runMerge('run-1', 1);
    expect(again).to.deep.equal(first);
    expect(await raw().find().sort({ _id: 1 }).toArray()).to.deep.equal(snapshot);
    await expectSizes('run-1');
  });

  it('a later unchanged run writes nothing to raw, curated or history; the ledger says it saw every record', async () => {
    await merge('run-1', [tracks(1, 50)]);
    const snapshot = async () => ({
      raw: await raw().find().sort({ _id: 1 }).toArray(),
      curated: await curated().find().sort({ _id: 1 }).toArray(),
      history: await historyCollection(db, source).countDocuments(),
    });
    const before = await snapshot();
    expect(await merge('run-2', [tracks(1, 50)])).to.deep.equal(counts({ unchanged: 50 }));
    expect(await snapshot()).to.deep.equal(before);
    expect(await lastSeenRun(db, source, '7')).to.equal(runOf('run-2'));
    expect(await readSourceRun(db, 'tracks', runOf('run-2'))).to.include({ complete: true, live: 50 });
  });

  it('a changed snapshot: updated records keep their prior version in history, absent ones are tombstoned, new ones inserted', async () => {
    await merge('run-1', [tracks(1, 100)]);
    const changed = tracks(1, 100)
      .filter((t) => t.id > 10)
      .map((t) => (t.id <= 15 ? named(t.id, 'Renamed') : t));
    const stats = await merge('run-2', [[...changed, ...tracks(101, 103)]]);
    expect(stats).to.deep.equal(counts({ inserted: 3, updated: 5, unchanged: 85, tombstoned: 10, historyVersions: 5, curatedDocuments: 8 }));
    const gone = await raw().findOne({ _id: '3' });
    expect(gone)
      .to.include({ deleted_in_run: runOf('run-2') })
      .and.to.have.property('deleted_at')
      .that.is.instanceOf(Date);
    expect(gone?.record, 'tombstoned, never removed').to.deep.equal(track(3));
    const renamed = await raw().findOne({ _id: '12' });
    expect(renamed).to.include({ version_run: runOf('run-2'), first_seen_run: runOf('run-1') });
    const history = await historyCollection(db, source).findOne({ _id: `12@${runOf('run-1')}` });
    expect(history?.record).to.deep.equal(track(12));
    expect(history).to.include({ key: '12', stored_in_run: runOf('run-1'), replaced_in_run: runOf('run-2') });
    expect(history?.valid_to.getTime()).to.equal(renamed?.version_at.getTime());
    expect(await curated().countDocuments({ _id: '3' }), 'curated holds live records only').to.equal(0);
    expect((await curated().findOne({ _id: '12' }))?.name).to.equal('Renamed');
    expect(await curated().countDocuments()).to.equal(93);
    expect(await lastSeenRun(db, source, '3'), 'last served by the run before its tombstone').to.equal(runOf('run-1'));
    expect((await readSourceRun(db, 'tracks', runOf('run-2')))?.sizes).to.deep.equal({ raw: 103, history: 5, curated: 93 });
    await expectSizes('run-2');
    // Merged again by the same run (its pages staged once more): the versions are not counted twice.
    await merge('run-2', [[...changed, ...tracks(101, 103)]]);
    await expectSizes('run-2');
  });

  it('an incomplete run tombstones nothing, keeps the records it did not see curated, and marks them missed until served again', async () => {
    await merge('run-1', [tracks(1, 40)]);
    const stats = await merge('run-2', [tracks(1, 30)], { complete: false });
    expect(stats).to.deep.equal(counts({ unchanged: 30 }));
    expect(await raw().countDocuments({ deleted_at: { $ne: null } })).to.equal(0);
    expect(await curated().countDocuments()).to.equal(40);
    expect(await raw().countDocuments({ missed_since_run: runOf('run-2') })).to.equal(10);
    expect(await lastSeenRun(db, source, '35'), 'not served by run-2').to.equal(runOf('run-1'));
    expect(await lastSeenRun(db, source, '5')).to.equal(runOf('run-2'));
    expect((await readSourceRun(db, 'tracks', runOf('run-2')))?.live, 'the unserved records are still live').to.equal(40);
    await expectSizes('run-2');

    expect(await merge('run-3', [tracks(1, 40)])).to.deep.equal(counts({ unchanged: 40 }));
    expect(await raw().countDocuments({ missed_since_run: { $ne: null } })).to.equal(0);
    expect(await lastSeenRun(db, source, '35')).to.equal(runOf('run-3'));
  });

  it('replaces the curated documents of a reshaped record in place: a shorter listen history loses its extra positions', async () => {
    source = { ...SOURCES.listen_history, rawCollection: `raw_listens_m${n}`, curatedCollection: `listens_m${n}` };
    const history = (userId: number, items: number[]) => ({ user_id: userId, items, created_at: '2024-01-01T00:00:00', updated_at: '2024-01-02T00:00:00' });
    const mergeHistories = async (runId: string, page: unknown[]) => {
      await stagePages(db, source, runOf(runId), [page]);
      const input: MergeInput = { source: 'listen_history', runId: runOf(runId), pages: 1, complete: true, expectedRecords: 0 };
      return new MockActivityEnvironment().run((i: MergeInput) => mergeSource({ db, sources: { ...SOURCES, listen_history: source } }, i), input);
    };
    expect(await mergeHistories('run-1', [history(1, [10, 11, 12]), history(2, [13]), history(3, [14])])).to.include({ inserted: 3, curatedDocuments: 5 });
    const stats = await mergeHistories('run-2', [history(1, [15]), history(3, [14])]);
    expect(stats).to.include({ updated: 1, unchanged: 1, tombstoned: 1, curatedDocuments: 1 });
    const listens = await db.collection<{ _id: string; track_id: number }>(source.curatedCollection).find().sort({ _id: 1 }).toArray();
    expect(listens.map((l) => [l._id, l.track_id])).to.deep.equal([
      ['1:0', 15],
      ['3:0', 14],
    ]);
    const ledger = await readSourceRun(db, 'listen_history', runOf('run-2'));
    expect(ledger?.history_lengths).to.deep.equal({ '1': 2 });
    expect(ledger?.sizes, 'a listen per item of each live history').to.deep.equal({ raw: 3, history: 1, curated: 2 });
    await expectSizes('run-2', 'listen_history');
  });

  it('a merge that died mid-way, retried, ends as a clean one would: exact counts, one history version per update, curated exact', async () => {
    await merge('run-1', [tracks(1, 400)], { partitionRecords: 100 });
    const next = tracks(1, 400)
      .filter((t) => t.id % 10 !== 0)
      .map((t) => (t.id % 7 === 0 ? named(t.id, 'Changed') : t));
    await stagePages(db, source, runOf('run-2'), [next]);
    // The curated transform fails for one key on the first attempt: buckets before it are written, those after are not.
    let failures = 1;
    const failing: SourceDescription = {
      ...source,
      curate: (r) =>
        r.id === 399 && failures-- > 0
          ? (() => {
              throw new Error('worker died');
            })()
          : source.curate(r),
    };
    const attempt = (desc: SourceDescription) => attemptMerge('run-2', desc);
    let died: unknown;
    await attempt(failing).catch((err: unknown) => (died = err));
    expect(String(died)).to.contain('worker died');
    const partial = await historyCollection(db, source).countDocuments({ replaced_in_run: runOf('run-2') });
    expect(partial, 'the first attempt wrote some buckets').to.be.above(0);

    const stats = await attempt(failing);
    const sevens = tracks(1, 400).filter((t) => t.id % 7 === 0 && t.id % 10 !== 0).length;
    expect(stats).to.include({ updated: sevens, tombstoned: 40, unchanged: 360 - sevens, inserted: 0 });
    expect(await historyCollection(db, source).countDocuments({ replaced_in_run: runOf('run-2') }), 'one prior version per update').to.equal(sevens);
    expect(await curated().countDocuments()).to.equal(360);
    expect(await curated().countDocuments({ name: 'Changed' })).to.equal(sevens);
    expect(await raw().countDocuments({ version_run: runOf('run-2') })).to.equal(sevens);
    await expectSizes('run-2');
  });

  it("a retry after another run's merge came between its attempts counts each prior version once", async () => {
    await merge('run-1', [tracks(1, 400)], { partitionRecords: 100 });
    const next = tracks(1, 400).map((t) => (t.id % 7 === 0 ? named(t.id, 'Changed') : t));
    await stagePages(db, source, runOf('run-2'), [next]);
    // The first attempt dies part-way through its writes: the partitions before are done, raw marks and all.
    let calls = 0;
    const failing: SourceDescription = {
      ...source,
      curate: (r) => {
        if (++calls === 40) throw new Error('worker died');
        return source.curate(r);
      },
    };
    const attempt = () => attemptMerge('run-2', failing);
    let died: unknown;
    await attempt().catch((err: unknown) => (died = err));
    expect(String(died)).to.contain('worker died');
    const early = await raw().countDocuments({ version_run: runOf('run-2') });
    expect(early, 'the first attempt updated some keys').to.be.above(0);
    // Another run merges before the retry: it finds the index marked by run-2, reads the raw
    // layer (run-2's first versions in it) and saves a clean index.
    await merge('run-3', [next.map((t) => (t.id % 11 === 0 ? named(t.id, 'Other') : t))], { partitionRecords: 100 });
    await expectSizes('run-3');
    // The retry of run-2: what it updated before is counted in run-3's figure already.
    await attempt();
    await expectSizes('run-2');
  });

  it('after a merge of another run died for good, the next run reads the raw layer and rebuilds curated', async () => {
    await merge('run-1', [tracks(1, 50)]);
    const before = await db.collection(`${source.rawCollection}_keys`).findOne({ _id: 'meta' } as never);
    expect(await merge('run-2', [tracks(1, 50)])).to.deep.equal(counts({ unchanged: 50 }));
    expect(await db.collection(`${source.rawCollection}_keys`).findOne({ _id: 'meta' } as never), 'an unchanged run leaves the key index alone').to.deep.equal(
      before,
    );

    // A run that died after writing curated for a key, and was never retried.
    await markKeyIndexWriting(db, source, runOf('run-dead'));
    await curated().updateOne({ _id: '5' }, { $set: { name: 'Half-written' } });
    const stats = await merge('run-3', [tracks(1, 50)]);
    expect(stats).to.include({ unchanged: 50, curatedDocuments: 50 });
    expect((await curated().findOne({ _id: '5' }))?.name, 'curated rebuilt from raw').to.equal('Track 5');
    expect(await curated().countDocuments()).to.equal(50);
    await expectSizes('run-3');
    expect(await merge('run-4', [tracks(1, 50)]), 'the index is trusted again').to.deep.equal(counts({ unchanged: 50 }));
    await expectSizes('run-4');
  });

  it('runs one merge of a source at a time: a second run waits for the first, then finds its records unchanged', async () => {
    await stagePages(db, source, runOf('run-a'), [tracks(1, 50)]);
    await stagePages(db, source, runOf('run-b'), [tracks(1, 50)]);
    const [a, b] = await Promise.all([runMerge('run-a', 1), runMerge('run-b', 1)]);
    expect([a, b].map((s) => [s.inserted, s.unchanged]).sort()).to.deep.equal([
      [0, 50],
      [50, 0],
    ]);
    expect(await raw().countDocuments()).to.equal(50);
    expect(await curated().countDocuments()).to.equal(50);
    expect(await mergeLeaseHolder(db, source), 'the lease is given back').to.equal(null);
    // A lease left by a merge that died is taken once stale.
    expect(await takeMergeLease(db, source, 'dead-run')).to.equal(true);
    expect(await takeMergeLease(db, source, 'other-run'), 'held by a live merge').to.equal(false);
    expect(await takeMergeLease(db, source, 'other-run', new Date(Date.now() + LEASE_STALE_MS + 1000)), 'stale').to.equal(true);
    await releaseMergeLease(db, source, 'other-run');
  });

  it('resolves one key on two pages deterministically: the lowest page wins, the copy is quarantined', async () => {
    const pages = [tracks(1, 10), [...tracks(11, 19), named(4, 'Copy on page 2')], [named(4, 'Copy on page 3')]];
    const stats = await merge('run-d', pages);
    expect(stats).to.include({ inserted: 19, duplicates: 2 });
    expect((await raw().findOne({ _id: '4' }))?.record.name).to.equal('Track 4');
    const copies = await quarantineCollection(db)
      .find({ run_id: runOf('run-d'), reason: 'duplicate' })
      .sort({ page: 1 })
      .toArray();
    expect(copies.map((q) => [q.page, q.key, JSON.parse(q.record_json).name])).to.deep.equal([
      [2, '4', 'Copy on page 2'],
      [3, '4', 'Copy on page 3'],
    ]);
    expect(copies[0]?.issues[0]?.message).to.equal('duplicate key 4: the copy on page 1 (the first served) is kept');
  });

  it('brings a tombstoned record back as an update when it reappears', async () => {
    await merge('run-1', [tracks(1, 5)]);
    await merge('run-2', [tracks(1, 4)]);
    const stats = await merge('run-3', [tracks(1, 5)]);
    expect(stats).to.include({ updated: 1, unchanged: 4, tombstoned: 0, historyVersions: 1 });
    const back = await raw().findOne({ _id: '5' });
    expect(back?.deleted_at ?? null).to.equal(null);
    expect(back?.version_run).to.equal(runOf('run-3'));
    await expectSizes('run-3');
  });

  it('counts the history collection once when the key index does not say its size (an index saved before it did), and keeps it from then on', async () => {
    await merge('run-1', [tracks(1, 20)]);
    await merge('run-2', [[...tracks(1, 19), named(20, 'Changed')]]);
    const keys = db.collection<{ _id: string; history?: unknown }>(`${source.rawCollection}_keys`);
    await keys.updateOne({ _id: 'meta' }, { $unset: { history: '' } });
    // Nothing changes but the cut of the pages: merged in full, the index saved with the size.
    await merge('run-3', [tracks(1, 10), [...tracks(11, 19), named(20, 'Changed')]]);
    await expectSizes('run-3');
    expect((await keys.findOne({ _id: 'meta' }))?.history).to.equal(1);
    await merge('run-4', [[...tracks(1, 18), named(19, 'Changed'), named(20, 'Changed')]]);
    expect((await readSourceRun(db, 'tracks', runOf('run-4')))?.sizes).to.deep.equal({ raw: 20, history: 2, curated: 20 });
    await expectSizes('run-4');
  });

  describe('a run that repeats the pages of the last clean merge', () => {
    /** Merges a staged run, returning its counts and the run the merge said it repeated (undefined: merged in full). */
    const observed = async (runId: string, pages: number, options: { complete?: boolean; repeatPages?: boolean; ranges?: RangeDigest[] } = {}) => {
      let repeated: unknown;
      const logger = new DefaultLogger('INFO', (entry) => {
        if (entry.message === 'source merged') repeated = entry.meta?.repeatOf;
      });
      const input: MergeInput = {
        source: 'tracks',
        runId: runOf(runId),
        pages,
        complete: options.complete ?? true,
        expectedRecords: 0,
        ...(options.ranges ? { ranges: options.ranges } : {}),
      };
      const stats = await new MockActivityEnvironment(undefined, { logger }).run(
        (i: MergeInput) => mergeSource({ db, repeatPages: options.repeatPages, sources: { ...SOURCES, tracks: source } }, i),
        input,
      );
      return { stats, repeated };
    };
    const ledgerOf = async (runId: string) => {
      const { _id, run_id, merged_at, first_merged_at, ...rest } = (await readSourceRun(db, 'tracks', runOf(runId))) ?? {};
      return rest;
    };
    const pages = [tracks(1, 60), tracks(61, 100)];

    it('is recorded from the digests alone, with the counts and ledger a full merge gives; a change is merged in full', async () => {
      await merge('run-1', pages);
      const before = await db.collection(`${source.rawCollection}_keys`).find().sort({ _id: 1 }).toArray();
      await stagePages(db, source, runOf('run-2'), pages);
      const fast = await observed('run-2', 2);
      expect(fast).to.deep.equal({ stats: counts({ unchanged: 100 }), repeated: runOf('run-1') });
      expect(await db.collection(`${source.rawCollection}_keys`).find().sort({ _id: 1 }).toArray(), 'nothing written beside the ledger').to.deep.equal(before);
      expect(await observed('run-2', 2), 'a retry reports the same').to.deep.equal(fast);
      expect(await lastSeenRun(db, source, '99')).to.equal(runOf('run-2'));

      // The same pages merged in full: the same counts and the same ledger.
      await stagePages(db, source, runOf('run-3'), pages);
      expect(await observed('run-3', 2, { repeatPages: false })).to.deep.equal({ stats: counts({ unchanged: 100 }), repeated: undefined });
      const full = await ledgerOf('run-3');
      expect(full).to.have.property('profile');
      expect(await ledgerOf('run-2')).to.deep.equal(full);

      // One record changed on page 2: merged in full; its pages are then the ones repeated.
      const changed = [tracks(1, 60), [...tracks(61, 99), named(100, 'Changed')]];
      await stagePages(db, source, runOf('run-4'), changed);
      expect(await observed('run-4', 2)).to.deep.equal({
        stats: counts({ unchanged: 99, updated: 1, historyVersions: 1, curatedDocuments: 1 }),
        repeated: undefined,
      });
      await stagePages(db, source, runOf('run-5'), changed);
      expect(await observed('run-5', 2)).to.deep.equal({ stats: counts({ unchanged: 100 }), repeated: runOf('run-4') });
      await expectSizes('run-5');
      // The same records on pages cut differently: merged in full (and nothing changes).
      await stagePages(db, source, runOf('run-6'), [[...tracks(1, 60), ...tracks(61, 99), named(100, 'Changed')]]);
      expect(await observed('run-6', 1)).to.deep.equal({ stats: counts({ unchanged: 100 }), repeated: undefined });
    });

    it("is recognised from the digests of the fetch's ranges without reading a page; a range that differs is merged in full, ranges that do not tile the pages are not used", async () => {
      await merge('run-1', pages);
      const digestsOf = async (runId: string) => [
        (await findStagedPage(db, 'tracks', runOf(runId), 1))?.digest,
        (await findStagedPage(db, 'tracks', runOf(runId), 2))?.digest,
      ];
      await stagePages(db, source, runOf('run-2'), pages);
      const [d1, d2] = await digestsOf('run-2');
      const ranges = [
        { firstPage: 1, lastPage: 1, digest: rangeDigest([d1]) as string },
        { firstPage: 2, lastPage: 2, digest: rangeDigest([d2]) as string },
      ];
      // The pages are gone: only the ranges can say what was staged.
      expect(await deleteStagedPages(db, 'tracks', runOf('run-2'), 2, 8)).to.equal(2);
      expect(await observed('run-2', 2, { ranges })).to.deep.equal({ stats: counts({ unchanged: 100 }), repeated: runOf('run-1') });
      await stagePages(db, source, runOf('run-3'), pages);
      expect(
        (await observed('run-3', 2, { ranges: [{ firstPage: 1, lastPage: 2, digest: rangeDigest([d1, d2]) as string }] })).repeated,
        'one range over both pages',
      ).to.equal(runOf('run-1'));

      // A range whose pages differ: merged in full, from the pages.
      await stagePages(db, source, runOf('run-4'), pages);
      const other = [ranges[0]!, { ...ranges[1]!, digest: rangeDigest(['another page']) as string }];
      expect(await observed('run-4', 2, { ranges: other })).to.deep.equal({ stats: counts({ unchanged: 100 }), repeated: undefined });
      // Ranges that leave a page out (wrong digests too): the pages' own digests decide.
      await stagePages(db, source, runOf('run-5'), pages);
      expect((await observed('run-5', 2, { ranges: [{ ...other[1]!, firstPage: 1, lastPage: 1 }] })).repeated).to.equal(runOf('run-4'));
    });

    it('is merged in full after an unclean merge, when incomplete, or when another merge is writing', async () => {
      const invalid = [tracks(1, 60), [...tracks(61, 99), { ...track(100), duration: 'broken' }]];
      await merge('run-1', invalid);
      await stagePages(db, source, runOf('run-2'), invalid);
      expect((await observed('run-2', 2)).repeated, 'a page with an invalid record: its digests were not kept').to.equal(undefined);

      await merge('run-3', pages);
      await stagePages(db, source, runOf('run-4'), pages);
      expect(await observed('run-4', 2, { complete: false }), 'an incomplete run').to.deep.equal({ stats: counts({ unchanged: 100 }), repeated: undefined });
      await stagePages(db, source, runOf('run-5'), pages);
      expect((await observed('run-5', 2)).repeated, 'the incomplete run forgot the digests').to.equal(undefined);

      await markKeyIndexWriting(db, source, runOf('run-dead'));
      await stagePages(db, source, runOf('run-6'), pages);
      expect((await observed('run-6', 2)).repeated, 'a merge died writing: the raw layer is read').to.equal(undefined);
      await stagePages(db, source, runOf('run-7'), pages);
      expect((await observed('run-7', 2)).repeated, 'trusted again after a full merge').to.equal(runOf('run-6'));
    });
  });

  it('keeps a record live when its key is served with an invalid record', async () => {
    await merge('run-1', [tracks(1, 3)]);
    const stats = await merge('run-2', [[track(1), track(2), { ...track(3), duration: 'broken' }]]);
    expect(stats).to.include({ unchanged: 2, tombstoned: 0, curatedDocuments: 0 });
    expect(await curated().countDocuments(), 'its stored version stays curated').to.equal(3);
    expect((await raw().findOne({ _id: '3' }))?.deleted_at ?? null).to.equal(null);
  });

  it('gives the same result over many partitions as over one', async () => {
    const pages = Array.from({ length: 12 }, (_, p) => tracks(p * 100 + 1, p * 100 + 100));
    await merge('run-1', pages, { partitionRecords: 100 });
    const next = pages.map((page) => page.filter((t) => t.id % 7 !== 0).map((t) => (t.id % 11 === 0 ? named(t.id, 'Changed') : t)));
    const stats = await merge('run-2', next, { partitionRecords: 97 });
    const sevens = Math.floor(1200 / 7);
    const elevens = Math.floor(1200 / 11) - Math.floor(1200 / 77);
    expect(stats).to.deep.equal(
      counts({ updated: elevens, unchanged: 1200 - sevens - elevens, tombstoned: sevens, historyVersions: elevens, curatedDocuments: elevens }),
    );
    expect(await curated().countDocuments()).to.equal(1200 - sevens);
    expect(await raw().countDocuments()).to.equal(1200);
  });

  it('counts what its batches insert, several batches in flight, skipping documents already stored', async () => {
    const collection = db.collection<{ _id: string; n: number }>(`inserter_${n}`);
    const inserter = new BatchInserter(collection, 10, 3);
    for (let i = 0; i < 1000; i++) await inserter.add({ _id: String(i), n: i });
    await inserter.close();
    expect(inserter.written).to.equal(1000);
    expect(await collection.countDocuments()).to.equal(1000);
    const again = new BatchInserter(collection, 10, 3);
    for (let i = 990; i < 1010; i++) await again.add({ _id: String(i), n: i });
    await again.close();
    expect(again.written, 'a retry inserts only what is missing').to.equal(10);
    expect(await collection.countDocuments()).to.equal(1010);
  });
});
