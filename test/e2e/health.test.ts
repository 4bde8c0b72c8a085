import { expect } from 'chai';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import type { CheckResult, CheckSourceResult, QualityReportDocument, RunHealth } from '../../contracts/health.js';
import type { RawDocument } from '../../stores/raw.js';
import type { PipelineRunDocument } from '../../contracts/runs.js';
import type { Config } from '../../config/config.js';
import { resolveQualitySettings } from '../../config/quality.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../simulator/server.js';
import { FAVORITE_GENRES, GENDERS } from '../../sources/contract.js';
import { SOURCES } from '../../sources/index.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { runCli } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { startWebhookReceiver } from '../support/webhookReceiver.js';
import { withWorker } from '../support/withWorker.js';
import type { SourceName } from '../../contracts/names.js';
import { alertsCollection, type AlertDocument } from '../../stores/alerts.js';
import { QUALITY_REPORTS_COLLECTION } from '../../stores/qualityReports.js';
import { trackedCollections } from '../../activities/health/summarizeRun.js';
import { referenceCountsCollection } from '../../stores/referenceCounts.js';
import { markKeyIndexWriting } from '../../activities/ingest/merge/keyIndex.js';
import { checkSource } from '../../activities/health/checkSource.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { SourceSummary } from '../../contracts/ingest.js';

// Pipeline health for real: crafted snapshots from the simulator, checks, KPIs, alerts
// and their delivery to a local webhook, through Temporal and the database.

// The simulator's timestamps end at 2025-01-01: runs dated just after it are fresh.
const FRESH_DATE = '2025-01-03';
const NEXT_DATE = '2025-01-04';
const THIRD_DATE = '2025-01-05';
const QUALITY = resolveQualitySettings({ checks: { freshness: { severity: 'error', warnAfterDays: 30, failAfterDays: 60 } } });

describe('pipeline health, end to end', function () {
  this.timeout(300_000);
  let stack: TestStack;
  const sims: Simulator[] = [];

  before(async () => {
    stack = await getTestStack();
  });
  after(() => Promise.all(sims.map((s) => s.close())));

  async function setup(name: string, options: SimulatorOptions, overrides: Partial<Config> = {}): Promise<{ sim: Simulator; config: Config; db: Db }> {
    const sim = createSimulator({ tracks: 200, users: 200, ...options });
    sims.push(sim);
    const base = stack.config();
    const config: Config = {
      ...base,
      apiUrl: await sim.listen(0),
      mongodbDb: `${stack.mongodbDb}_health_${name}`,
      taskQueue: `health-${process.pid}-${name}`,
      http: { ...base.http, timeoutMs: 2_000, backoffMs: 20, maxAttempts: 3 },
      quality: QUALITY,
      ...overrides,
    };
    return { sim, config, db: (await stack.mongo()).db(config.mongodbDb) };
  }

  const run = (config: Config, date: string) =>
    withWorker(config, (client) =>
      client.workflow.execute<typeof dailyPipeline>('dailyPipeline', { workflowId: `daily-${date}`, taskQueue: config.taskQueue, args: [{ date }] }),
    );
  const reports = async (db: Db, date: string) => {
    const docs = await db
      .collection<QualityReportDocument>(QUALITY_REPORTS_COLLECTION)
      .find({ workflow_id: `daily-${date}` })
      .toArray();
    return Object.fromEntries(docs.map((d) => [d.source, d])) as Record<SourceName, QualityReportDocument>;
  };
  const label = (c: CheckResult) => (c.field ? `${c.check}:${c.field}` : c.check);
  const notPassing = (r: QualityReportDocument) => r.checks.filter((c) => c.status !== 'pass').map((c) => [label(c), c.status, c.observed]);
  const served = (sim: Simulator, name: SourceName) => sim.served(name).map((t) => JSON.parse(t) as Record<string, unknown>);

  it('passes every check on a clean snapshot, stores one report per source and the KPIs, and opens no alert', async () => {
    const { sim, config, db } = await setup('clean', { seed: 'health-clean' });
    const result = await run(config, FRESH_DATE);
    expect(result.health).to.deep.include({ status: 'pass', downstream: { allowed: true, reason: null } });
    expect(result.alerts).to.deep.equal({ opened: 0, ongoing: 0, resolved: 0, open: { critical: 0, warning: 0 } });

    const r = await reports(db, FRESH_DATE);
    // Per field: not_null, types, missing_rate (+ accepted_values); references; freshness,
    // volume; unique_key, duplicate_rate, reconcile_total, reconcile_pages, schema_drift.
    expect(r.tracks.checks).to.have.length(9 * 3 + 2 + 5);
    expect(r.users.checks).to.have.length(8 * 3 + 2 + 2 + 5);
    expect(r.listen_history.checks).to.have.length(4 * 3 + 2 + 2 + 5);
    for (const name of ['tracks', 'users', 'listen_history'] as const) {
      expect(notPassing(r[name]), name).to.deep.equal([]);
      expect(r[name]).to.deep.include({ status: 'pass', blocking: false, run_id: result.runId });
    }
    expect(result.health?.counts).to.deep.equal({ pass: 34 + 33 + 21, warn: 0, fail: 0 });

    const users = served(sim, 'users');
    const windowStart = Date.parse(`${FRESH_DATE}T00:00:00Z`) - 29 * 86_400_000;
    const newUsers = users.filter((u) => Date.parse(`${String(u.created_at)}Z`) >= windowStart).length;
    const stored = (await db.collection<PipelineRunDocument>('pipeline_runs').findOne({ _id: `daily-${FRESH_DATE}` })) as PipelineRunDocument;
    const kpis = stored.kpis;
    expect(kpis).to.deep.include({ liveUsers: 200, liveTracks: 200, liveHistories: 200, usersWithListens: 200 });
    expect(kpis?.historyLength).to.deep.equal({ mean: 5, p50: 5, p90: 5, max: 5, histogram: { '5': 200 } });
    expect(Object.values(kpis?.newUsersPerDay ?? {}).reduce((a, n) => a + n, 0)).to.equal(newUsers);
    expect(Object.keys(kpis?.newUsersPerDay ?? {})).to.have.length(30);
    const genreOf = new Map(served(sim, 'tracks').map((t) => [t.id, String(t.genres)]));
    const listensByGenre = new Map<string, number>();
    for (const h of served(sim, 'listen_history'))
      for (const id of h.items as number[]) listensByGenre.set(genreOf.get(id) as string, (listensByGenre.get(genreOf.get(id) as string) ?? 0) + 1);
    const expectedTop = [...listensByGenre.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([genre, listens]) => ({ genre, listens }));
    expect(kpis?.topGenres).to.deep.equal(expectedTop);
    expect(kpis?.collectionSizes).to.include({ raw_users: 200, tracks: 200, listens: 1000, quality_reports: 3 });
    // The sources' sizes as their merges kept them, the rest measured: each as the collection counts it.
    const counted = await Promise.all(trackedCollections().map(async (name) => [name, await db.collection(name).countDocuments()] as const));
    expect(kpis?.collectionSizes).to.deep.equal(Object.fromEntries(counted));
    expect(kpis?.runsPerDay[FRESH_DATE]).to.deep.equal({ succeeded: 1, failed: 0 });
    expect(stored.health).to.deep.equal(result.health);
    expect(await alertsCollection(db).countDocuments()).to.equal(0);
  });

  it('fails or warns each record check on a crafted bad snapshot, with exact counts and sample keys', async () => {
    const { sim, config, db } = await setup('bad', {
      seed: 'health-bad',
      invalidRate: 0.12,
      extraFieldRate: 0.05,
      duplicateIds: 2,
      unexpectedValueRate: 0.1,
      orphanRate: 0.1,
      emptyRate: 0.2,
      ageDays: 400,
    });
    const result = await run(config, FRESH_DATE);
    expect(result.health?.status).to.equal('fail');
    expect(result.health?.downstream.allowed, 'failing error checks stop downstream steps').to.equal(false);
    const r = await reports(db, FRESH_DATE);
    const find = (name: SourceName, l: string) => r[name].checks.find((c) => label(c) === l) as CheckResult;

    const users = served(sim, 'users');
    const count = (records: Record<string, unknown>[], test: (x: Record<string, unknown>) => boolean) => records.filter(test).length;
    // not_null and types: invalid records count against their fields, from quarantine.
    expect(find('users', 'not_null:id')).to.include({ status: 'fail', observed: count(users, (u) => u.id === null || u.id === undefined) });
    expect(find('users', 'types:id')).to.include({ status: 'fail', observed: count(users, (u) => typeof u.id === 'string') });
    expect(find('users', 'types:created_at')).to.include({ observed: count(users, (u) => u.created_at === '2021-02-30T10:00:00') });
    expect(find('users', 'types:email').observed).to.equal(count(users, (u) => typeof u.email === 'number'));
    expect(find('users', 'not_null:id').samples.length).to.be.within(1, 5);
    // accepted values and missing values on valid records.
    const k = sim.knobs.users;
    expect(find('users', 'accepted_values:gender')).to.include({
      status: 'warn',
      observed: count(users, (u) => typeof u.id === 'number' && !(GENDERS as readonly unknown[]).includes(u.gender)),
    });
    expect(find('users', 'accepted_values:favorite_genres')).to.include({
      status: 'warn',
      observed: count(users, (u) => typeof u.id === 'number' && !(FAVORITE_GENRES as readonly unknown[]).includes(u.favorite_genres)),
    });
    expect(k.unexpectedValue.length).to.be.greaterThan(5);
    expect(find('users', 'missing_rate:email')).to.include({ status: 'warn', observed: k.empty.length });
    // duplicates: two keys served twice per endpoint.
    expect(find('users', 'unique_key')).to.include({ status: 'warn', observed: 2 });
    expect(find('users', 'duplicate_rate')).to.include({ status: 'warn', observed: 2 });
    // schema drift, per field added.
    const extra = sim.knobs.tracks.extraField.length;
    expect(find('tracks', 'schema_drift:explicit').observed + find('tracks', 'schema_drift:bpm').observed).to.equal(extra);
    // freshness: every updated_at 400 days older.
    expect(find('tracks', 'freshness:updated_at')).to.include({ status: 'fail' });
    expect(find('tracks', 'freshness:updated_at').observed).to.be.greaterThan(400);

    // Referential integrity, recomputed here from the raw layer.
    const live = async (name: SourceName) => (await db.collection<RawDocument>(SOURCES[name].rawCollection).find().toArray()).filter((d) => !d.deleted_at);
    const liveUsers = new Set((await live('users')).map((d) => d.record.id));
    const liveTracks = new Set((await live('tracks')).map((d) => d.record.id));
    const histories = await live('listen_history');
    const orphanUsers = histories.filter((h) => !liveUsers.has(h.record.user_id)).length;
    const items = histories.flatMap((h) => h.record.items as number[]);
    const orphanItems = items.filter((id) => !liveTracks.has(id)).length;
    expect(find('listen_history', 'orphan_users:user_id')).to.include({ status: 'fail', observed: orphanUsers, total: histories.length });
    expect(find('listen_history', 'orphan_tracks:items')).to.include({ status: 'fail', observed: orphanItems, total: items.length });
    expect(orphanUsers).to.be.at.least(Math.ceil(sim.knobs.listen_history.orphan.length / 2));
    // The failing checks are alerts, each with its key.
    const open = (await alertsCollection(db).find({ status: 'open' }).toArray()).map((a) => a.key).sort();
    expect(open).to.include.members([
      'check_failed:users:not_null:id',
      'check_failed:users:types:id',
      'check_failed:listen_history:orphan_users:user_id',
      'check_failed:tracks:freshness:updated_at',
      'error_rate:users',
    ]);
    expect(open.filter((key) => key.startsWith('check_failed:')).length).to.equal(result.health?.counts.fail);

    const referential = (report: QualityReportDocument) => ({
      checks: report.checks.filter((c) => c.check.startsWith('orphan_')),
      usersWithListens: report.kpis?.usersWithListens,
      topGenres: report.kpis?.topGenres,
    });
    const counted = await referenceCountsCollection(db).findOne({ _id: 'listen_history' });
    expect(counted?.run_id, 'the counts are kept').to.equal(result.runId);

    // The next day, nothing changed: the counts kept are taken, the same checks and KPIs.
    await run(config, NEXT_DATE);
    const quietReports = await reports(db, NEXT_DATE);
    expect(referential(quietReports.listen_history)).to.deep.equal(referential(r.listen_history));
    expect(await referenceCountsCollection(db).findOne({ _id: 'listen_history' }), 'not counted again').to.deep.equal(counted);

    // A day where records changed: counted again, from the new indexes.
    sim.mutate({ updated: 0, deleted: 10, added: 0 });
    const changed = await run(config, THIRD_DATE);
    const recounted = await referenceCountsCollection(db).findOne({ _id: 'listen_history' });
    expect(recounted?.run_id).to.equal(changed.runId);
    expect(recounted?.generations).to.not.deep.equal(counted?.generations);
    const liveTracksNow = new Set((await live('tracks')).map((d) => d.record.id));
    const historiesNow = await live('listen_history');
    const itemsNow = historiesNow.flatMap((h) => h.record.items as number[]);
    expect((await reports(db, THIRD_DATE)).listen_history.checks.find((c) => label(c) === 'orphan_tracks:items')).to.include({
      observed: itemsNow.filter((id) => !liveTracksNow.has(id)).length,
      total: itemsNow.length,
    });

    // While a merge writes the tracks' index, the checks count from the curated tracks, and keep nothing.
    await markKeyIndexWriting(db, SOURCES.tracks, 'a-merge-writing');
    const input = {
      workflowId: 'daily-again',
      runId: changed.runId,
      date: THIRD_DATE,
      source: 'listen_history' as const,
      summary: changed.sources.listen_history as SourceSummary,
    };
    const again = (await new MockActivityEnvironment().run(checkSource, { db, quality: QUALITY }, input)) as CheckSourceResult;
    expect(again.failing).to.include('orphan_tracks:items');
    const againReport = await db.collection<QualityReportDocument>(QUALITY_REPORTS_COLLECTION).findOne({ _id: 'daily-again/listen_history' });
    expect(referential(againReport as QualityReportDocument)).to.deep.equal(referential((await reports(db, THIRD_DATE)).listen_history));
    expect(await referenceCountsCollection(db).findOne({ _id: 'listen_history' }), 'nothing kept while an index is written').to.deep.equal(recounted);
  });

  it('reconciles with the API: a source failing on page 2 fails reconcile_total and reconcile_pages, and the alerts reach a webhook that failed first', async () => {
    const hook = await startWebhookReceiver('/hooks/T0001/B0001/s3cr3t-token', [500]);
    try {
      const { config, db } = await setup(
        'failing',
        { seed: 'health-failing', faults: [{ kind: 'status', status: 404, path: '/tracks', page: 2 }] },
        { alertWebhookUrl: hook.url },
      );
      const error = await run(config, FRESH_DATE).then(
        () => expect.fail('the run should fail'),
        (err: unknown) => err as WorkflowFailedError,
      );
      const details = (error.cause as ApplicationFailure).details?.[0] as { health: RunHealth };
      expect(details.health.downstream.reason).to.include('source failed: tracks');
      const tracks = (await reports(db, FRESH_DATE)).tracks;
      expect(notPassing(tracks)).to.deep.equal([
        ['reconcile_total', 'fail', 100],
        ['reconcile_pages', 'fail', 1],
      ]);
      expect(tracks.kpis, 'a source that merged nothing is not profiled').to.equal(null);

      const alerts = await alertsCollection(db).find().toArray();
      const keys = alerts.map((a) => a.key).sort();
      expect(keys).to.include.members(['run_failed', 'check_failed:tracks:reconcile_total', 'check_failed:tracks:reconcile_pages']);
      for (const a of alerts) expect(a.delivery.status, a.key).to.equal('delivered');
      // The first POST got a 500; Temporal retried the activity and the alert went through.
      expect(hook.received[0]?.status).to.equal(500);
      const delivered = hook.received.filter((x) => x.status === 200).map((x) => x.body.text);
      expect(delivered.filter((t) => t.includes('*CRITICAL* run_failed'))).to.have.length(1);
      expect(alerts.reduce((a, x) => a + x.delivery.attempts, 0)).to.equal(alerts.length + 1);
      expect(delivered.length).to.equal(alerts.length + 1);
      const summary = delivered.find((t) => t.startsWith('*Moovitamix')) as string;
      expect(summary).to.include(`*Moovitamix ${FRESH_DATE}*: run daily-${FRESH_DATE} FAILED`);
      expect(summary).to.include('• tracks: FAILED');
    } finally {
      await hook.close();
    }
  });

  it('never fails a run because its webhook refuses: the refusal is kept on the alert', async () => {
    const hook = await startWebhookReceiver('/other-path');
    try {
      const { config, db } = await setup(
        'refused',
        { seed: 'health-refused', orphanRate: 0.2 },
        { alertWebhookUrl: `${hook.url.replace('/other-path', '/wrong-path')}` },
      );
      const result = await run(config, FRESH_DATE);
      expect(result.status).to.equal('COMPLETED');
      const alerts = await alertsCollection(db).find().toArray();
      expect(alerts.map((a) => a.key)).to.include('check_failed:listen_history:orphan_users:user_id');
      for (const a of alerts) expect(a.delivery.status, a.key).to.equal('pending');
      // A rejection is not retried: the first alert carries it, the others wait for the next run's delivery.
      expect(alerts.filter((a) => a.delivery.error === 'webhook answered 404' && a.delivery.attempts === 1)).to.have.length(1);
      expect(
        hook.received.map((x) => x.status),
        'a 404 is not retried',
      ).to.deep.equal([404, 404]);
    } finally {
      await hook.close();
    }
  });

  it('watch follows a run started elsewhere, through its query, to its summary and checks', async () => {
    const { config } = await setup('watch', { seed: 'health-watch', latencyMs: 1500 });
    const env = stack.env({ MONGODB_DB: config.mongodbDb, TEMPORAL_TASK_QUEUE: config.taskQueue });
    await withWorker(config, async (client) => {
      const handle = await client.workflow.start<typeof dailyPipeline>('dailyPipeline', {
        workflowId: 'watched',
        taskQueue: config.taskQueue,
        args: [{ date: FRESH_DATE }],
      });
      // Wait until the visibility store lists it (the CLI finds it there).
      for (let listed = false; !listed;) {
        for await (const e of client.workflow.list({ query: `WorkflowId = 'watched' AND ExecutionStatus = 'Running'` })) listed = e.workflowId === 'watched';
      }
      const watched = await runCli(['watch'], env);
      expect(watched.code, watched.stderr).to.equal(0);
      expect(watched.stdout).to.include(`Following workflow watched (run ${handle.firstExecutionRunId}, RUNNING)`);
      expect(watched.stdout, watched.stdout).to.match(/listen_history\s+(pending|running|completed)/);
      expect(watched.stdout).to.include('Run watched COMPLETED');
      expect(watched.stdout).to.match(/Checks: (PASS|WARN) \(\d+ pass, \d+ warn, 0 fail\)/);
      const none = await runCli(['watch'], env);
      expect(none.code).to.equal(1);
      expect(none.stderr).to.include('No dailyPipeline is running');
    });
  });

  it('keeps an alert open and delivered once while its condition lasts, resolves it after, and flags a volume drop', async () => {
    const hook = await startWebhookReceiver('/hook');
    try {
      const { sim, config, db } = await setup('lasting', { seed: 'health-lasting' }, { alertWebhookUrl: hook.url });
      const [d1, d2, d3, d4] = ['2025-01-03', '2025-01-04', '2025-01-05', '2025-01-06'] as const;
      expect((await run(config, d1)).alerts?.opened).to.equal(0);

      // 60 % of every endpoint deleted: volume drops, and histories now point at deleted tracks.
      sim.mutate({ updated: 0, deleted: 60, added: 0 });
      const second = await run(config, d2);
      const r2 = await reports(db, d2);
      expect(r2.users.checks.find((c) => c.check === 'volume')).to.deep.include({ status: 'warn', observed: 80, total: 200, unit: 'change' });
      const orphanKey = 'check_failed:listen_history:orphan_tracks:items';
      const openKeys = async () => (await alertsCollection(db).find({ status: 'open' }).toArray()).map((a) => a.key).sort();
      expect(await openKeys()).to.include.members(['volume_anomaly:users', 'volume_anomaly:tracks', orphanKey]);
      expect(second.health?.downstream.allowed).to.equal(false);

      // Same snapshot again: the volume is steady now, the orphans remain.
      const third = await run(config, d3);
      expect(third.alerts?.resolved).to.be.at.least(3);
      const byKey = async (key: string) => (await alertsCollection(db).find().toArray()).filter((a) => a.key === key) as AlertDocument[];
      const orphan = await byKey(orphanKey);
      expect(orphan).to.have.length(1);
      expect(orphan[0]).to.deep.include({ status: 'open', occurrences: 2, workflow_id: `daily-${d2}`, last_seen_workflow_id: `daily-${d3}` });
      expect((await byKey('volume_anomaly:users'))[0]).to.deep.include({ status: 'resolved', resolved_by: `daily-${d3}` });
      const alertPosts = hook.received.filter((x) => !x.body.text.startsWith('*Moovitamix'));
      expect(alertPosts.filter((x) => x.body.text.includes('check orphan_tracks:items failed'))).to.have.length(1);

      // Running the same date again changes no alert: it was already counted for that run.
      // (A new Temporal run of the date is a new occurrence only if its condition still holds.)
      const summaries = hook.received.filter((x) => x.body.text.startsWith('*Moovitamix')).length;
      expect(summaries).to.equal(3);

      // The CLI reads it all back.
      const env = stack.env({ MONGODB_DB: config.mongodbDb });
      const report = await runCli(['report', '--run', `daily-${d3}`, '--all'], env);
      expect(report.code, report.stderr).to.equal(0);
      expect(report.stdout).to.include(`Quality report of run daily-${d3} (${d3}): COMPLETED`);
      expect(report.stdout).to.match(/orphan_tracks\s+items\s+FAIL\s+error/);
      expect(report.stdout).to.match(/not_null\s+id\s+PASS/);
      const short = await runCli(['report', '--run', `daily-${d3}`], env);
      expect(short.stdout).to.match(/orphan_tracks\s+items\s+FAIL\s+error/);
      expect(short.stdout).to.not.match(/not_null\s+id\s+PASS/);
      expect(short.stdout).to.match(/\(\d+ checks pass; --all lists them\)/);
      const json = JSON.parse((await runCli(['report', '--run', `daily-${d3}`, '--json'], env)).stdout) as {
        reports: QualityReportDocument[];
        kpis: { liveUsers: number };
      };
      expect(json.reports).to.have.length(3);
      expect(json.kpis.liveUsers).to.equal(80);
      const alertsOut = await runCli(['alerts'], env);
      expect(alertsOut.stdout).to.include(orphanKey);
      expect(alertsOut.stdout).to.not.include('volume_anomaly:users');
      const all = await runCli(['alerts', '--all', '--json'], env);
      expect((JSON.parse(all.stdout) as AlertDocument[]).map((a) => a.key)).to.include('volume_anomaly:users');
      const status = await runCli(['status'], env);
      expect(status.stdout).to.include('checks (pass/warn/fail)');
      expect(status.stdout).to.include('Checks: FAIL');

      // Nothing new on a date that deletes nothing more, then a day skipped: missed_run.
      await run(config, d4);
      await run(config, '2025-01-08');
      expect(await openKeys()).to.include('missed_run:2025-01-07');
    } finally {
      await hook.close();
    }
  });
});
