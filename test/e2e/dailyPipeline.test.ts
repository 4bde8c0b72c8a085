import { expect } from 'chai';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { contentHash } from '../../activities/ingest/canonicalJson.js';
import { quarantineCollection } from '../../stores/quarantine.js';
import type { HistoryDocument, RawDocument } from '../../stores/raw.js';
import { lastSeenRun, readSourceRun } from '../../stores/sourceRuns.js';
import { fromCollections, fromKeyIndexes } from '../../activities/recommend/liveData.js';
import type { PipelineRunDocument } from '../../contracts/runs.js';
import type { Config } from '../../config/config.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { SOURCES } from '../../sources/index.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { runCli } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { withWorker } from '../support/withWorker.js';
import { SOURCE_NAMES, type SourceName } from '../../contracts/names.js';
import type { SourceSummary } from '../../contracts/ingest.js';

// The whole path for real: simulator -> worker (got, valibot) -> Temporal -> MongoDB.

describe('daily pipeline, end to end', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let sim: Simulator;
  let config: Config;
  let db: Db;
  let n = 0;

  before(async () => {
    stack = await getTestStack();
    sim = createSimulator({ seed: 'e2e' });
    config = testConfig(await sim.listen(0), 'main');
    db = (await stack.mongo()).db(config.mongodbDb);
  });
  after(() => sim.close());

  /** A configuration of its own (database, task queue), with short HTTP timeouts and backoffs. */
  function testConfig(apiUrl: string, name: string): Config {
    const base = stack.config();
    return {
      ...base,
      apiUrl,
      mongodbDb: `${stack.mongodbDb}_e2e_${name}`,
      taskQueue: `e2e-${process.pid}-${name}`,
      http: { ...base.http, timeoutMs: 2_000, backoffMs: 50, maxAttempts: 6 },
    };
  }

  const served = (s: Simulator, name: SourceName) => s.served(name).map((text) => JSON.parse(text) as Record<string, unknown>);
  const keyOf = (name: SourceName, record: Record<string, unknown>) => String(record[SOURCES[name].keyField]);
  const rawDocs = (d: Db, name: SourceName) => d.collection<RawDocument>(SOURCES[name].rawCollection).find().toArray();
  const runDaily = (c: Config, date: string, workflowId = `daily-${date}`) =>
    withWorker(c, (client) => client.workflow.execute<typeof dailyPipeline>('dailyPipeline', { workflowId, taskQueue: c.taskQueue, args: [{ date }] }));
  const failingRun = (c: Config, date: string) =>
    withWorker(c, (client) =>
      client.workflow.execute<typeof dailyPipeline>('dailyPipeline', { workflowId: `daily-${date}`, taskQueue: c.taskQueue, args: [{ date }] }).then(
        () => expect.fail('the run should fail'),
        (err: unknown) => err as WorkflowFailedError,
      ),
    );
  const sources = (error: WorkflowFailedError) => ((error.cause as ApplicationFailure).details?.[0] as { sources: Record<SourceName, SourceSummary> }).sources;

  it('stores exactly what the simulator serves, raw and curated, with one run record and a memo', async () => {
    const result = await runDaily(config, '2026-01-15');
    expect(result).to.include({ status: 'COMPLETED', workflowId: 'daily-2026-01-15', date: '2026-01-15' });
    for (const name of SOURCE_NAMES) {
      expect(result.sources[name], name).to.include({
        status: 'COMPLETED',
        fetched: 1000,
        valid: 1000,
        invalid: 0,
        inserted: 1000,
        updated: 0,
        unchanged: 0,
        duplicates: 0,
        tombstoned: 0,
        pages: 10,
        pagesPlanned: 10,
        totalAtStart: 1000,
        totalAtEnd: 1000,
        complete: true,
        merged: true,
        requests: 10,
      });
      const records = served(sim, name);
      const docs = await rawDocs(db, name);
      expect(docs, name).to.have.length(1000);
      expect(new Set(docs.map((d) => d._id))).to.deep.equal(new Set(records.map((r) => keyOf(name, r))));
      const byKey = new Map(docs.map((d) => [d._id, d]));
      // Every 37th record, the first and the last: spread over every page.
      for (const record of records.filter((_, i) => i % 37 === 0 || i === records.length - 1)) {
        const doc = byKey.get(keyOf(name, record));
        expect(doc?.record, `${name} ${keyOf(name, record)}`).to.deep.equal(record);
        expect(doc).to.include({ hash: contentHash(record), first_seen_run: result.runId, version_run: result.runId });
      }
    }
    expect(await db.collection('tracks').countDocuments()).to.equal(1000);
    expect(await db.collection('users').countDocuments()).to.equal(1000);
    expect(await db.collection('listens').countDocuments()).to.equal(5000);
    const row = served(sim, 'listen_history')[0] as { user_id: number; items: number[]; created_at: string };
    const listens = await db.collection('listens').find({ user_id: row.user_id }).sort({ position: 1 }).toArray();
    expect(listens.map((l) => [l._id, l.track_id, l.position])).to.deep.equal(row.items.map((t, i) => [`${row.user_id}:${i}`, t, i]));
    expect(listens[0]?.history_created_at).to.deep.equal(new Date(`${row.created_at}Z`));

    const run = await db.collection<PipelineRunDocument>('pipeline_runs').findOne({ _id: 'daily-2026-01-15' });
    expect(run).to.include({ run_id: result.runId, date: '2026-01-15', status: 'COMPLETED' });
    expect(run?.sources).to.deep.equal(result.sources);
    expect(await db.collection('quarantine').countDocuments()).to.equal(0);
    expect(await db.collection('staging_pages').countDocuments(), 'staged pages deleted once merged').to.equal(0);

    // The key indexes hold what the recommender reads of the whole live data, as the collections do.
    const beat = () => {};
    const [indexed, collections] = [await fromKeyIndexes(db, beat), await fromCollections(db, beat)];
    expect(indexed, 'every source has a key index').to.not.equal(null);
    expect([...(indexed?.users ?? [])])
      .to.deep.equal([...collections.users])
      .and.to.have.length(1000);
    expect([...(indexed?.genres ?? [])]).to.deep.equal([...collections.genres]);
    expect(indexed?.liveTracks).to.deep.equal(collections.liveTracks);
    expect(indexed?.genreWords).to.deep.equal(collections.genreWords);
    expect(collections.users.every((_, u) => String(indexed?.tracksOf(u)) === String(collections.tracksOf(u)))).to.equal(true);
    expect(collections.tracksOf(0).length).to.be.above(0);

    const memo = await withWorker(config, async (client) => (await client.workflow.getHandle('daily-2026-01-15').describe()).memo);
    expect(memo?.date).to.equal('2026-01-15');
    expect(String(memo?.summary)).to.match(
      /^tracks: 1000 fetched \(0 invalid, 0 duplicates\), 1000 inserted, 0 updated, 0 unchanged, 0 tombstoned; 10 pages, 10 requests, 0 retries; complete; /,
    );
  });

  it('re-running a date writes no record: raw and curated stay as they were, the ledger says the run saw them', async () => {
    const snapshot = async () =>
      Object.fromEntries(await Promise.all(SOURCE_NAMES.map(async (name) => [name, (await rawDocs(db, name)).sort((a, b) => a._id.localeCompare(b._id))])));
    const before = await snapshot();
    const curatedBefore = await db.collection('listens').find().sort({ _id: 1 }).toArray();
    const result = await runDaily(config, '2026-01-15');
    for (const name of SOURCE_NAMES) {
      expect(result.sources[name], name).to.include({ fetched: 1000, inserted: 0, updated: 0, unchanged: 1000, tombstoned: 0, complete: true });
      // Every page served the body the last clean merge staged: none was staged again.
      expect(result.sources[name], name).to.include({ pages: 10, unstagedPages: 10 });
      const ledger = await readSourceRun(db, name, result.runId);
      expect(ledger, name).to.include({ complete: true, live: 1000 });
      expect(await lastSeenRun(db, SOURCES[name], String((await rawDocs(db, name))[0]?._id)), name).to.equal(result.runId);
    }
    expect(await snapshot()).to.deep.equal(before);
    expect(await db.collection('listens').find().sort({ _id: 1 }).toArray()).to.deep.equal(curatedBefore);
    expect(await db.collection<PipelineRunDocument>('pipeline_runs').countDocuments({ _id: 'daily-2026-01-15' })).to.equal(1);
    const memo = await withWorker(config, async (client) => (await client.workflow.getHandle('daily-2026-01-15').describe()).memo);
    expect(String(memo?.summary)).to.match(
      /^tracks: 1000 fetched .*, 1000 unchanged, 0 tombstoned; 10 pages \(10 unchanged, not staged\), 10 requests, 0 retries; complete; /,
    );
  });

  it('a changed snapshot: the right inserted, updated and tombstoned counts, and one history version per update', async () => {
    const change = sim.mutate({ updated: 5, deleted: 2, added: 3 });
    const result = await runDaily(config, '2026-01-16');
    for (const name of SOURCE_NAMES) {
      const c = change[name];
      const live = 1000 - c.deleted + c.added;
      expect(result.sources[name], name).to.include({
        fetched: live,
        inserted: c.added,
        updated: c.updated,
        unchanged: 1000 - c.deleted - c.updated,
        tombstoned: c.deleted,
        historyVersions: c.updated,
        complete: true,
      });
      const history = await db.collection<HistoryDocument>(`${SOURCES[name].rawCollection}_history`).find({ replaced_in_run: result.runId }).toArray();
      expect(history, name).to.have.length(c.updated);
      const docs = await rawDocs(db, name);
      expect(
        docs.filter((d) => d.deleted_in_run === result.runId),
        name,
      ).to.have.length(c.deleted);
      for (const h of history.slice(0, 5)) {
        const now = docs.find((d) => d._id === h.key);
        expect(now?.version_run).to.equal(result.runId);
        expect(h.hash).not.to.equal(now?.hash);
      }
    }
    expect(await db.collection('users').countDocuments()).to.equal(1000 - change.users.deleted + change.users.added);
  });

  it('with 20 % of requests faulted, the run still counts exactly, and says how often it retried and why', async () => {
    sim.faults.setRandom({ rate: 0.2, seed: 'e2e-faults', timeoutMs: 2_500 });
    // Which requests the seeded draws hit depends on the order the sources' requests arrive
    // in (a fault on a probe is retried by Temporal, not counted as a page retry): count
    // what was served.
    const served: string[] = [];
    const take = sim.faults.take.bind(sim.faults);
    sim.faults.take = (path, page) => {
      const fault = take(path, page);
      if (fault) served.push(fault.kind);
      return fault;
    };
    try {
      const result = await runDaily(config, '2026-01-17');
      let retries = 0;
      for (const name of SOURCE_NAMES) {
        const live = sim.served(name).length;
        const s = result.sources[name] as SourceSummary;
        expect(s, name).to.include({ fetched: live, valid: live, inserted: 0, updated: 0, unchanged: live, tombstoned: 0, duplicates: 0, complete: true });
        const sum = Object.values(s.retries).reduce((a, b) => a + b, 0);
        expect(s.requests, name).to.equal(s.pages + sum);
        retries += sum;
      }
      expect(served.length, 'faults were met').to.be.greaterThan(3);
      expect(retries, 'and page requests were retried').to.be.greaterThan(0);
    } finally {
      sim.faults.take = take;
      sim.faults.clear();
    }
  });

  it('quarantines invalid records with their reasons, reports unknown fields, resolves one id on two pages', async () => {
    const knobbed = createSimulator({ seed: 'e2e-knobs', invalidRate: 0.03, extraFieldRate: 0.05, duplicateIds: 2 });
    const c = testConfig(await knobbed.listen(0), `knobs${++n}`);
    const d = (await stack.mongo()).db(c.mongodbDb);
    try {
      const result = await runDaily(c, '2026-01-18');
      for (const name of SOURCE_NAMES) {
        const report = knobbed.knobs[name];
        const s = result.sources[name] as SourceSummary;
        const invalid = report.invalid.length;
        expect(s, name).to.include({ fetched: 1000, invalid, valid: 1000 - invalid, duplicates: 2, inserted: 1000 - invalid - 2, tombstoned: 0 });
        const extra = report.extraField.length;
        expect(
          Object.values(s.drift.added).reduce((a, b) => a + b, 0),
          `${name} drift`,
        ).to.equal(extra);
        // Records with a null or missing id cannot be keyed: tombstoning must wait for a clean run.
        expect(s.complete).to.equal(false);
        expect(s.incompleteReason).to.match(/invalid records had no readable key/);
        expect(await quarantineCollection(d).countDocuments({ source: name, reason: 'invalid' }), name).to.equal(invalid);
        expect(await quarantineCollection(d).countDocuments({ source: name, reason: 'duplicate' }), name).to.equal(2);
        expect(await d.collection(SOURCES[name].rawCollection).countDocuments(), name).to.equal(1000 - invalid - 2);
      }
      const q = await quarantineCollection(d).findOne({ source: 'tracks', reason: 'invalid', index: knobbed.knobs.tracks.invalid[0]! % 100 });
      expect(q?.issues.length).to.be.greaterThan(0);
      expect(q?.record_json).to.equal(knobbed.served('tracks')[knobbed.knobs.tracks.invalid[0]!]);
      const [copy, original] = knobbed.knobs.users.duplicates[0]!;
      const kept = await d.collection<RawDocument>('raw_users').findOne({ _id: String((JSON.parse(knobbed.served('users')[original]!) as { id: number }).id) });
      expect(kept?.record, 'the copy served first is kept').to.deep.equal(JSON.parse(knobbed.served('users')[original]!));
      expect(copy).to.be.greaterThan(original);
    } finally {
      await knobbed.close();
    }
  });

  it('when total changes mid-run, fetches the new pages and tombstones nothing', async () => {
    const stable = createSimulator({ seed: 'e2e-grow' });
    const c = testConfig(await stable.listen(0), `grow${++n}`);
    try {
      await runDaily(c, '2026-01-19');
    } finally {
      await stable.close();
    }
    const growing = createSimulator({ seed: 'e2e-grow', mutation: { updated: 0, deleted: 5, added: 0 }, growAfterRequests: 4, growBy: 150 });
    try {
      const result = await runDaily({ ...c, apiUrl: await growing.listen(0) }, '2026-01-20');
      for (const name of ['tracks', 'users'] as const) {
        expect(result.sources[name], name).to.include({
          totalAtStart: 950,
          totalAtEnd: 1100,
          pagesPlanned: 11,
          fetched: 1100,
          inserted: 150,
          unchanged: 950,
          tombstoned: 0,
          complete: false,
        });
        expect(result.sources[name]?.incompleteReason).to.equal('fetched 1100 records, total was 950 at the start and 1100 at the end');
      }
    } finally {
      await growing.close();
    }
  });

  it('a 404 fails fast, merges nothing of that source, and the run reports what was fetched', async () => {
    const failing = createSimulator({ seed: 'e2e-failing', faults: [{ kind: 'status', status: 404, path: '/tracks', page: 7 }] });
    const c = testConfig(await failing.listen(0), `failing${++n}`);
    const d = (await stack.mongo()).db(c.mongodbDb);
    try {
      const started = Date.now();
      const error = await failingRun(c, '2026-01-21');
      expect(Date.now() - started, 'no retrying a 404').to.be.lessThan(20_000);
      expect((error.cause as ApplicationFailure).type).to.equal('PipelineFailed');
      const s = sources(error);
      expect(s.tracks).to.include({ status: 'FAILED', merged: false, inserted: 0, complete: false });
      expect(s.tracks.error).to.equal(`GET ${c.apiUrl}/tracks?page=7&size=100 answered 404: {"detail":"Simulated fault: 404"}`);
      expect(s.tracks.pages, 'the pages staged before the failure are counted').to.be.within(6, 9);
      expect(await d.collection('raw_tracks').countDocuments(), 'a failed source changes nothing').to.equal(0);
      for (const name of ['users', 'listen_history'] as const) expect(s[name], name).to.include({ status: 'COMPLETED', inserted: 1000 });
      const run = await d.collection<PipelineRunDocument>('pipeline_runs').findOne({ _id: 'daily-2026-01-21' });
      expect(run?.status).to.equal('FAILED');
      expect(run?.sources).to.deep.equal(s);
    } finally {
      await failing.close();
    }
  });

  it('the CLI runs a source alone, prints JSON, and `status` shows the run record', async () => {
    const env = stack.env({ MONGODB_DB: config.mongodbDb, TEMPORAL_TASK_QUEUE: config.taskQueue });
    const cli = await withWorker(config, () => runCli(['ingest', '--source', 'users', '--date', '2026-01-22', '--wait', '--json'], env));
    expect(cli.code, cli.stderr).to.equal(0);
    const summary = JSON.parse(cli.stdout) as { workflowId: string; status: string; sources: Record<string, SourceSummary> };
    expect(summary).to.include({ workflowId: 'ingest-users-2026-01-22', status: 'COMPLETED' });
    expect(Object.keys(summary.sources)).to.deep.equal(['users']);
    expect(summary.sources.users).to.include({ fetched: sim.served('users').length, valid: sim.served('users').length, invalid: 0, inserted: 0, updated: 0 });

    const status = await runCli(['status', 'ingest-users-2026-01-22'], env);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.include('Run ingest-users-2026-01-22').and.include('users:').and.include('retries: none');
    const latest = await runCli(['status', '--json', '--limit', '3'], env);
    expect((JSON.parse(latest.stdout) as PipelineRunDocument[]).map((r) => r._id)[0]).to.equal('ingest-users-2026-01-22');
    const missing = await runCli(['status', 'daily-1999-01-01'], env);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('No run daily-1999-01-01');
  });

  it('the CLI prints a table, and exits 1 naming the URL and status when the API refuses a source', async () => {
    const broken = { ...config, apiUrl: `${config.apiUrl}/no-such-prefix`, taskQueue: `${config.taskQueue}-broken` };
    const cli = await withWorker(broken, () =>
      runCli(
        ['run', '--date', '2026-01-23', '--wait', '--sources', 'tracks'],
        stack.env({ MONGODB_DB: config.mongodbDb, TEMPORAL_TASK_QUEUE: broken.taskQueue }),
      ),
    );
    expect(cli.code, cli.stderr).to.equal(1);
    expect(cli.stdout).to.match(/Run daily-2026-01-23 FAILED/);
    expect(cli.stdout).to.include(`GET ${broken.apiUrl}/tracks?page=1&size=100 answered 404`);
    expect(cli.stdout).to.match(/tracks\s+FAILED/);
  });

  it('the CLI rejects a bad date, source or setting before contacting Temporal', async () => {
    const badDate = await runCli(['run', '--date', '2026-02-30'], stack.env());
    expect(badDate.code).to.equal(2);
    expect(badDate.stderr).to.include('--date must be YYYY-MM-DD naming a real day');
    const badSource = await runCli(['ingest', '--source', 'albums'], stack.env());
    expect(badSource.code).to.equal(2);
    expect(badSource.stderr).to.include('--source must be one of tracks, users, listen_history');
    const badEnv = await runCli(['run'], stack.env({ TEMPORAL_ADDRESS: 'nowhere' }));
    expect(badEnv.code).to.equal(2);
    expect(badEnv.stderr).to.include('TEMPORAL_ADDRESS must be host:port');
  });
});
