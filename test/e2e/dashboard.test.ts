import { expect } from 'chai';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from 'mongodb';
import type { Browser } from 'playwright-core';
import { activeState } from '../../stores/recommendations.js';
import type { PipelineRunDocument } from '../../contracts/runs.js';
import type { Config } from '../../config/config.js';
import { resolveQualitySettings } from '../../config/quality.js';
import { createService } from '../../service/server.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { launchTestBrowser } from '../support/chromium.js';
import { getTestStack } from '../support/testStack.js';
import { withWorker } from '../support/withWorker.js';
import { alertsCollection } from '../../stores/alerts.js';

// The dashboard in a real browser (headless Chromium, see support/chromium.ts), over runs made by the
// real pipeline: every number drawn must be the one in the database.

describe('health dashboard and HTTP service', function () {
  this.timeout(300_000);
  let sim: Simulator;
  let db: Db;
  let server: Server;
  let base: string;
  let browser: Browser;

  before(async () => {
    const stack = await getTestStack();
    sim = createSimulator({ seed: 'dashboard', tracks: 150, users: 120 });
    const defaults = stack.config();
    const config: Config = {
      ...defaults,
      apiUrl: await sim.listen(0),
      mongodbDb: `${stack.mongodbDb}_dashboard`,
      taskQueue: `dashboard-${process.pid}`,
      quality: resolveQualitySettings({ checks: { freshness: { warnAfterDays: 30 } } }),
    };
    db = (await stack.mongo()).db(config.mongodbDb);
    await withWorker(config, async (client) => {
      const run = (date: string) =>
        client.workflow.execute<typeof dailyPipeline>('dailyPipeline', { workflowId: `daily-${date}`, taskQueue: config.taskQueue, args: [{ date }] });
      await run('2025-01-02');
      sim.mutate({ updated: 10, deleted: 30, added: 5 });
      await run('2025-01-03');
    });
    server = createService({ db });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchTestBrowser();
  });

  after(async () => {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await sim?.close();
  });

  it('draws the run history, checks, KPIs and alerts exactly as stored', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
    await page.goto(`${base}/`);
    await page.waitForSelector('body[data-ready="true"]');

    const runs = await db.collection<PipelineRunDocument>('pipeline_runs').find().sort({ started_at: 1 }).toArray();
    expect(runs.map((r) => r.date)).to.deep.equal(['2025-01-02', '2025-01-03']);
    const marks = (chart: string, tag: string) =>
      page.$$eval(`[data-chart="${chart}"] ${tag}[data-value]`, (els) =>
        els.map((e) => [e.getAttribute('data-series'), e.getAttribute('data-label'), Number(e.getAttribute('data-value'))]),
      );

    const expectedRecords = ['tracks', 'users', 'listen_history'].flatMap((s) => runs.map((r) => [s, r.date, r.sources[s as 'tracks']?.fetched]));
    expect(await marks('records', 'circle')).to.deep.equal(expectedRecords);
    expect(expectedRecords.map((x) => x[2]).slice(0, 1), 'the first run fetched every track').to.deep.equal([150]);
    expect(await marks('duration', 'rect')).to.deep.equal(runs.map((r) => ['duration', r.date, (r.duration_ms as number) / 1000]));
    expect(await marks('checks', 'rect')).to.deep.equal(
      runs
        .flatMap((r) => (['pass', 'warn', 'fail'] as const).map((s) => [s, r.date, r.health?.counts[s]]))
        .sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    );

    const latest = runs[1] as PipelineRunDocument;
    const kpis = latest.kpis as NonNullable<PipelineRunDocument['kpis']>;
    const tiles = await page.$$eval('[data-kpi]', (els) =>
      Object.fromEntries(els.map((e) => [e.getAttribute('data-kpi'), [e.getAttribute('data-value'), e.querySelector('.value')?.textContent]])),
    );
    expect(tiles.liveUsers).to.deep.equal([String(kpis.liveUsers), String(kpis.liveUsers)]);
    expect(tiles.liveTracks).to.deep.equal([String(kpis.liveTracks), String(kpis.liveTracks)]);
    expect(kpis.liveTracks, 'the second run tombstoned the deleted tracks').to.equal(latest.sources.tracks?.fetched);
    expect(tiles.usersWithListens?.[0]).to.equal(String(kpis.usersWithListens));
    expect(tiles.meanHistoryLength?.[0]).to.equal(String(kpis.historyLength?.mean));
    expect(await marks('genres', 'rect')).to.deep.equal(kpis.topGenres.map((g) => ['genres', g.genre, g.listens]));
    const newUsers = await marks('new-users', 'rect');
    expect(newUsers.map((m) => m[2])).to.deep.equal(Object.values(kpis.newUsersPerDay));

    const stored = await alertsCollection(db).find().toArray();
    expect(stored.length, 'the deletions leave orphans and a volume drop').to.be.greaterThan(0);
    const rows = await page.$$eval('#alerts tbody tr[data-alert]', (els) => els.map((e) => e.getAttribute('data-alert')));
    expect([...rows].sort()).to.deep.equal(stored.map((a) => a.key).sort());
    expect(await page.textContent('[data-chart="models"]')).to.include('No models yet');
    expect(await page.textContent('#feedback tbody')).to.equal('No feedback yet: clients send impressions, plays and likes to POST /feedback.');
    expect(await page.textContent('[data-chart="ctr"]')).to.equal('No feedback in the last 30 days.');
    expect(await page.textContent('#status')).to.include('Latest run daily-2025-01-03: COMPLETED');
    expect(errors).to.deep.equal([]);
    await page.close();
  });

  it('answers its JSON API, /health, and bad requests with 4xx, never 5xx', async () => {
    const get = async (path: string, init?: RequestInit) => {
      const res = await fetch(`${base}${path}`, init);
      return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
    };
    const health = await get('/health');
    const active = await activeState(db);
    expect(health.status).to.equal(200);
    expect(JSON.parse(health.body)).to.deep.equal({
      status: 'ok',
      database: 'ok',
      recommendations: { batch_id: active?.batch_id, switched_at: active?.switched_at.toISOString() },
    });
    const data = JSON.parse((await get('/api/dashboard?limit=1')).body) as { runs: { id: string }[]; feedback: { models: unknown[] } };
    expect(data.runs.map((r) => r.id)).to.deep.equal(['daily-2025-01-03']);
    expect(data.feedback.models, 'no feedback was sent').to.deep.equal([]);
    for (const bad of ['/api/dashboard?limit=0', '/api/dashboard?limit=abc', '/api/dashboard?limit=9999']) expect((await get(bad)).status, bad).to.equal(400);
    expect((await get('/nope')).status).to.equal(404);
    expect((await get('/%2e%2e/%2e%2e/etc/passwd')).status).to.equal(404);
    const post = await get('/api/dashboard', { method: 'POST', body: '{"$gt":""}' });
    expect(post.status).to.equal(405);
    expect((await get('/', { method: 'POST' })).status).to.equal(405);
    expect((await get('/nope', { method: 'POST' })).status).to.equal(404);
    // A run recorded by an earlier version of the pipeline, without some figures, still charts.
    await db.collection('pipeline_runs').insertOne({
      _id: 'legacy-run',
      run_id: 'r0',
      date: '2020-01-01',
      status: 'COMPLETED',
      started_at: new Date('2020-01-01T02:00:00Z'),
      finished_at: null,
      duration_ms: 1000,
      sources: { tracks: { status: 'COMPLETED', fetched: 7 } },
    } as never);
    const all = await get('/api/dashboard?limit=365');
    expect(all.status).to.equal(200);
    expect((JSON.parse(all.body) as { runs: { id: string; records: Record<string, number>; retryRate: number }[] }).runs[0]).to.deep.include({
      id: 'legacy-run',
      records: { tracks: 7 },
      retryRate: 0,
    });
    const page = await get('/');
    expect(page.type).to.equal('text/html; charset=utf-8');
    expect(page.body).to.include('<script type="module" src="/dashboard.js">');
  });
});
