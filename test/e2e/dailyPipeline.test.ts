import { expect } from 'chai';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { contentHash } from '../../activities/ingest/canonicalJson.js';
import type { RawDocument } from '../../activities/ingest/loadPage.js';
import type { PipelineRunDocument, SourceSummary } from '../../activities/runs/types.js';
import type { Config } from '../../config/config.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { SOURCES, SOURCE_NAMES, type SourceName } from '../../sources/index.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { runCli } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { withWorker } from '../support/withWorker.js';

// The whole path for real: simulator -> worker (got, valibot) -> Temporal -> MongoDB.

describe('daily pipeline, end to end', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let sim: Simulator;
  let config: Config;
  let db: Db;

  before(async () => {
    stack = await getTestStack();
    sim = createSimulator({ seed: 'e2e' });
    const apiUrl = await sim.listen(0);
    config = stack.config({ apiUrl, taskQueue: `e2e-${process.pid}`, mongodbDb: `${stack.mongodbDb}_e2e` });
    db = (await stack.mongo()).db(config.mongodbDb);
  });
  after(() => sim.close());

  const served = (name: SourceName) => sim.dataset.records[name].map((text) => JSON.parse(text) as Record<string, unknown>);
  const keyOf = (name: SourceName, record: Record<string, unknown>) => String(record[SOURCES[name].keyField]);
  const rawDocs = (name: SourceName) => db.collection<RawDocument>(SOURCES[name].rawCollection).find().toArray();
  /** The summary of a source of 1,000 records, all valid, in 10 pages. */
  const completed = (counts: Partial<SourceSummary>): SourceSummary => ({
    status: 'COMPLETED',
    fetched: 1000,
    valid: 1000,
    invalid: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    duplicates: 0,
    total: 1000,
    pages: 10,
    ...counts,
  });
  const runDaily = (date: string) =>
    withWorker(config, (client) =>
      client.workflow.execute<typeof dailyPipeline>('dailyPipeline', { workflowId: `daily-${date}`, taskQueue: config.taskQueue, args: [{ date }] }),
    );

  it('stores exactly what the simulator serves: every key, every field of a sample, and one run record', async () => {
    const result = await runDaily('2026-01-15');
    expect(result.status).to.equal('COMPLETED');
    expect(result.workflowId).to.equal('daily-2026-01-15');
    for (const name of SOURCE_NAMES) {
      expect(result.sources[name], name).to.deep.equal(completed({ inserted: 1000 }));

      const records = served(name);
      const docs = await rawDocs(name);
      expect(docs, name).to.have.length(1000);
      expect(new Set(docs.map((d) => d._id))).to.deep.equal(new Set(records.map((r) => keyOf(name, r))));

      const byKey = new Map(docs.map((d) => [d._id, d]));
      // Every 37th record, the first and the last: spread over every page.
      const sample = records.filter((_, i) => i % 37 === 0 || i === records.length - 1);
      for (const record of sample) {
        const doc = byKey.get(keyOf(name, record));
        expect(doc?.record, `${name} ${keyOf(name, record)}`).to.deep.equal(record);
        expect(doc?.hash).to.equal(contentHash(record));
        expect(doc).to.include({ first_seen_run: result.runId, last_seen_run: result.runId, version_run: result.runId });
      }
    }

    const run = await db.collection<PipelineRunDocument>('pipeline_runs').findOne({ _id: result.runId });
    expect(run).to.include({ workflow_id: 'daily-2026-01-15', date: '2026-01-15', status: 'COMPLETED' });
    expect(run?.sources).to.deep.equal(result.sources);
    expect(run?.finished_at?.getTime()).to.be.at.least(run?.started_at.getTime() ?? Infinity);
    expect(await db.collection('quarantine').countDocuments()).to.equal(0);
  });

  it('a second run of the same date changes nothing but the last-seen markers', async () => {
    const snapshot = async () =>
      Object.fromEntries(
        await Promise.all(
          SOURCE_NAMES.map(async (name) => [
            name,
            (await rawDocs(name)).map(({ last_seen_run: _r, last_seen_at: _a, last_seen_page: _p, ...rest }) => rest).sort((a, b) => a._id.localeCompare(b._id)),
          ]),
        ),
      );
    const before = await snapshot();
    const result = await runDaily('2026-01-15');
    for (const name of SOURCE_NAMES) {
      expect(result.sources[name], name).to.include({ fetched: 1000, valid: 1000, inserted: 0, updated: 0, unchanged: 1000, duplicates: 0, invalid: 0 });
      expect((await rawDocs(name)).every((d) => d.last_seen_run === result.runId), name).to.equal(true);
    }
    expect(await snapshot()).to.deep.equal(before);
    expect(await db.collection('pipeline_runs').countDocuments({ workflow_id: 'daily-2026-01-15' })).to.equal(2);
  });

  it('after the API restarts with a new dataset, stores the new records beside the old ones', async () => {
    await sim.close();
    const previous = Object.fromEntries(await Promise.all(SOURCE_NAMES.map(async (n) => [n, await db.collection(SOURCES[n].rawCollection).countDocuments()])));
    sim = createSimulator({ seed: 'e2e-restarted' });
    config = { ...config, apiUrl: await sim.listen(0) };
    const result = await runDaily('2026-01-16');
    for (const name of SOURCE_NAMES) {
      const s = result.sources[name];
      expect(s?.fetched, name).to.equal(1000);
      // Ids are drawn from 1..100000, so a few new records reuse an old id: those are updates.
      expect((s?.inserted ?? 0) + (s?.updated ?? 0), name).to.equal(1000);
      expect(s?.updated, name).to.be.lessThan(100);
      expect(await db.collection(SOURCES[name].rawCollection).countDocuments(), name).to.equal(previous[name] + (s?.inserted ?? 0));
      const byKey = new Map((await rawDocs(name)).map((d) => [d._id, d]));
      for (const record of served(name).slice(0, 50)) expect(byKey.get(keyOf(name, record))?.record).to.deep.equal(record);
    }
  });

  it('retries transient failures (503, 429 with Retry-After, dropped connections, truncated JSON) and still counts exactly', async () => {
    sim.faults.add({ kind: 'status', status: 503, path: '/users', page: 4, times: 2 });
    sim.faults.add({ kind: 'status', status: 429, retryAfter: '1', path: '/tracks', page: 8, times: 1 });
    sim.faults.add({ kind: 'reset', path: '/listen_history', page: 2, times: 1 });
    sim.faults.add({ kind: 'truncated', path: '/users', page: 9, times: 1 });
    try {
      const result = await runDaily('2026-01-18');
      for (const name of SOURCE_NAMES) {
        expect(result.sources[name], name).to.deep.equal(completed({ unchanged: 1000 }));
      }
      // Every fault was met, and retried past.
      expect(sim.faults.take('/users', 4n), 'faults used up').to.equal(undefined);
    } finally {
      sim.faults.clear();
    }
  });

  it('a source that fails for good fails the run, which reports exactly what that source stored', async () => {
    const failing = createSimulator({ seed: 'e2e-failing', faults: [{ kind: 'status', status: 404, path: '/tracks', page: 7 }] });
    const failingConfig = { ...config, apiUrl: await failing.listen(0), mongodbDb: `${config.mongodbDb}_failing`, taskQueue: `${config.taskQueue}-failing` };
    const failingDb = (await stack.mongo()).db(failingConfig.mongodbDb);
    try {
      const error = await withWorker(failingConfig, (client) =>
        client.workflow
          .execute<typeof dailyPipeline>('dailyPipeline', { workflowId: 'daily-2026-01-19', taskQueue: failingConfig.taskQueue, args: [{ date: '2026-01-19' }] })
          .then(() => expect.fail('the run should fail'), (err: unknown) => err),
      );
      expect(error).to.be.instanceOf(WorkflowFailedError);
      const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type).to.equal('PipelineFailed');
      const sources = (cause.details?.[0] as { sources: Record<SourceName, SourceSummary> }).sources;
      // Pages 1-5 and 6-10 load side by side: the first range completes, the second stores
      // page 6 and stops at page 7. 600 records stored, 600 counted.
      expect(sources.tracks).to.include({ status: 'FAILED', fetched: 600, valid: 600, inserted: 600, total: 1000, pages: 10 });
      expect(sources.tracks.error).to.include('/tracks?page=7&size=100 answered 404');
      expect(await failingDb.collection('raw_tracks').countDocuments()).to.equal(600);
      for (const name of ['users', 'listen_history'] as const) expect(sources[name], name).to.include({ status: 'COMPLETED', fetched: 1000, inserted: 1000 });
      const run = await failingDb.collection<PipelineRunDocument>('pipeline_runs').findOne({ workflow_id: 'daily-2026-01-19' });
      expect(run?.status).to.equal('FAILED');
      expect(run?.sources).to.deep.equal(sources);
    } finally {
      await failing.close();
    }
  });

  it('the CLI starts a run, waits for it and prints the per-source summary as JSON', async () => {
    const cli = await withWorker(config, () =>
      runCli(['run', '--date', '2026-01-16', '--wait', '--json'], stack.env({ MONGODB_DB: config.mongodbDb, TEMPORAL_TASK_QUEUE: config.taskQueue })),
    );
    expect(cli.code, cli.stderr).to.equal(0);
    const summary = JSON.parse(cli.stdout);
    expect(summary).to.include({ workflowId: 'daily-2026-01-16', status: 'COMPLETED' });
    expect(summary.runId).to.be.a('string');
    expect(Object.keys(summary.sources).sort()).to.deep.equal(['listen_history', 'tracks', 'users']);
    for (const name of SOURCE_NAMES) {
      expect(summary.sources[name], name).to.include({ fetched: 1000, valid: 1000, invalid: 0, inserted: 0, updated: 0, unchanged: 1000 });
    }
    expect(cli.stderr).to.include('Started: workflow daily-2026-01-16');
  });

  it('the CLI prints a table without --json, and exits 1 with the URL and status when the API refuses a source', async () => {
    const broken = { ...config, apiUrl: `${config.apiUrl}/no-such-prefix`, taskQueue: `${config.taskQueue}-broken` };
    const cli = await withWorker(broken, () =>
      runCli(['run', '--date', '2026-01-17', '--wait', '--sources', 'tracks'], stack.env({ MONGODB_DB: config.mongodbDb, TEMPORAL_TASK_QUEUE: broken.taskQueue })),
    );
    expect(cli.code, cli.stderr).to.equal(1);
    expect(cli.stdout).to.match(/Run daily-2026-01-17 FAILED/);
    expect(cli.stdout).to.include(`GET ${broken.apiUrl}/tracks?page=1&size=100 answered 404`);
    expect(cli.stdout).to.match(/tracks\s+FAILED/);
    const run = await db.collection<PipelineRunDocument>('pipeline_runs').findOne({ workflow_id: 'daily-2026-01-17' });
    expect(run?.status).to.equal('FAILED');
    expect(run?.sources.tracks?.error).to.include('answered 404');
  });

  it('the CLI rejects a bad date or source before contacting Temporal', async () => {
    const badDate = await runCli(['run', '--date', '2026-02-30'], stack.env());
    expect(badDate.code).to.equal(2);
    expect(badDate.stderr).to.include('--date must be YYYY-MM-DD naming a real day');
    const badSource = await runCli(['run', '--sources', 'tracks,albums'], stack.env());
    expect(badSource.code).to.equal(2);
    expect(badSource.stderr).to.include('unknown: albums');
    const badEnv = await runCli(['run'], stack.env({ TEMPORAL_ADDRESS: 'nowhere' }));
    expect(badEnv.code).to.equal(2);
    expect(badEnv.stderr).to.include('TEMPORAL_ADDRESS must be host:port');
  });
});
