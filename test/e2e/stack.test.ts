import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../stack/processes.js';
import type { ComponentStatus } from '../../stack/stack.js';
import { runCli } from '../support/cli.js';
import { freePort, freePortPair } from '../../stack/ports.js';
import { requestsServed, startWorkerProcess } from '../support/chaos.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { answersMoovitamixContract } from '../../stack/upstreamApi.js';

// `moovitamix stack` for real, on free ports and a data directory of its own, so it
// never meets a developer's running stack.

describe('moovitamix stack', function () {
  this.timeout(300_000);
  let env: NodeJS.ProcessEnv;
  let dataDir: string;
  let runSummary: { durationMs: number };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'moovitamix-stack-test-'));
    const { MONGODB_URI: _ignored, ...parent } = process.env;
    env = {
      ...parent,
      MOOVITAMIX_DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePortPair(1000)}`,
      MOOVITAMIX_MONGODB_PORT: String(await freePort()),
      MOOVITAMIX_API_URL: `http://127.0.0.1:${await freePort()}`,
      TEMPORAL_TASK_QUEUE: 'stack-test',
      MOOVITAMIX_METRICS_PORT: String(await freePort()),
    };
  });

  after(async () => {
    await runCli(['stack', 'down'], env);
    rmSync(dataDir, { recursive: true, force: true });
  });

  const status = async (): Promise<ComponentStatus[]> => JSON.parse((await runCli(['stack', 'status', '--json'], env)).stdout);

  it('up starts Temporal, a MongoDB-protocol server, the simulator and a worker, and status says where', async () => {
    const up = await runCli(['stack', 'up', '--seed', 'stack-test', '--count', '300'], env);
    expect(up.code, up.stdout + up.stderr).to.equal(0);
    expect(up.stdout).to.match(/Stack up in [\d.]+ s\. Temporal UI: http:\/\/127\.0\.0\.1:\d+/);
    const components = await status();
    expect(components.map((c) => [c.component, c.state])).to.deep.equal([
      ['temporal', 'running'],
      ['mongodb', 'running'],
      ['simulator', 'running'],
      ['worker', 'running'],
    ]);
    for (const c of components) expect(isAlive(c.pid ?? -1), c.component).to.equal(true);
    expect(components[0]?.address).to.equal(env.TEMPORAL_ADDRESS);
    expect(components[1]?.address).to.equal(`mongodb://127.0.0.1:${env.MOOVITAMIX_MONGODB_PORT}/?directConnection=true`);
    expect(components[2]?.address).to.equal(env.MOOVITAMIX_API_URL);
    for (const c of components) expect(c.logFile).to.equal(join(dataDir, 'logs', `${c.component}.log`));
  });

  it('runs a daily pipeline on the stack it started', async () => {
    const run = await runCli(['run', '--date', '2026-03-01', '--wait', '--json'], env);
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.status).to.equal('COMPLETED');
    for (const name of ['tracks', 'users', 'listen_history']) expect(summary.sources[name], name).to.include({ fetched: 300, inserted: 300 });
    runSummary = summary;
  });

  it("serves the worker's Prometheus metrics: the SDK's runtime series and the pipeline's own, with the run's values", async () => {
    const text = await (await fetch(`http://127.0.0.1:${env.MOOVITAMIX_METRICS_PORT}/metrics`)).text();
    const value = (pattern: RegExp) => {
      const line = text.split('\n').find((l) => pattern.test(l));
      expect(line, `${pattern} in:\n${text.slice(0, 3000)}`).to.not.equal(undefined);
      return Number((line as string).trim().split(/\s+/).pop());
    };
    for (const source of ['tracks', 'users', 'listen_history']) {
      expect(value(new RegExp(`^moovitamix_records(_total)?\\{.*outcome="fetched".*source="${source}"`)), source).to.equal(300);
      expect(value(new RegExp(`^moovitamix_records(_total)?\\{.*outcome="inserted".*source="${source}"`)), source).to.equal(300);
    }
    expect(text).to.not.match(/^moovitamix_invalid_records/m);
    expect(value(/^moovitamix_runs(_total)?\{.*status="COMPLETED"/)).to.equal(1);
    expect(value(/^moovitamix_run_duration_seconds(\{| )/)).to.be.closeTo(runSummary.durationMs / 1000, 5);
    expect(value(/^moovitamix_last_success_timestamp_seconds(\{| )/)).to.be.closeTo(Date.now() / 1000, 300);
    expect(value(/^moovitamix_process_resident_memory_bytes(\{| )/)).to.be.greaterThan(10e6);
    expect(value(/^moovitamix_process_cpu_seconds(\{| )/)).to.be.greaterThan(0);
    // The SDK's own: workflow and activity task figures of this worker.
    expect(value(/^temporal_workflow_completed(_total)?\{.*workflow_type="dailyPipeline"/)).to.equal(1);
    expect(text).to.match(/^temporal_activity_execution_latency/m);
  });

  it('a second worker on this machine serves its metrics on the next free port, and says so in its first line', async () => {
    const port = Number(env.MOOVITAMIX_METRICS_PORT);
    const second = await startWorkerProcess(env);
    try {
      const first = second.output().split('\n')[0] as string;
      expect(first, second.output()).to.match(/^Worker polling task queue "stack-test"/);
      const served = /metrics http:\/\/127\.0\.0\.1:(\d+)\/metrics \(port (\d+) is taken by another process\)$/.exec(first);
      expect(served, first).to.not.equal(null);
      expect(Number(served?.[2])).to.equal(port);
      expect(Number(served?.[1])).to.be.within(port + 1, port + 9);
      const text = await (await fetch(`http://127.0.0.1:${served?.[1]}/metrics`)).text();
      expect(text).to.match(/^moovitamix_process_resident_memory_bytes /m);
      // The stack's worker keeps its own port.
      expect((await status())[3]?.detail).to.include(`metrics http://127.0.0.1:${port}/metrics`);
    } finally {
      const exited = once(second.child, 'exit');
      second.child.kill('SIGTERM');
      expect(await exited).to.deep.equal([0, null]);
    }
  });

  it('up again leaves the running components alone', async () => {
    const before = await status();
    const again = await runCli(['stack', 'up'], env);
    expect(again.code).to.equal(0);
    expect(again.stdout.match(/already running/g)).to.have.length(4);
    expect((await status()).map((c) => c.pid)).to.deep.equal(before.map((c) => c.pid));
  });

  it('down stops every component and status reports them stopped', async () => {
    const pids = (await status()).map((c) => c.pid ?? -1);
    const down = await runCli(['stack', 'down'], env);
    expect(down.code).to.equal(0);
    expect(down.stdout).to.include('Stack down.');
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).to.equal(false);
    const after = await runCli(['stack', 'status', '--json'], env);
    expect(after.code, 'status fails while components are stopped').to.equal(1);
    expect(JSON.parse(after.stdout).map((c: ComponentStatus) => c.state)).to.deep.equal(['stopped', 'stopped', 'stopped', 'stopped']);
  });

  it('refuses to start on a port another process holds, and says which', async () => {
    const { createServer } = await import('node:net');
    const squatter = createServer().listen(Number(new URL(env.MOOVITAMIX_API_URL as string).port), '127.0.0.1');
    try {
      const up = await runCli(['stack', 'up'], env);
      expect(up.code).to.equal(1);
      expect(up.stderr).to.include(`Cannot start simulator: ${new URL(env.MOOVITAMIX_API_URL as string).host} is already in use`);
      expect(up.stderr).to.include('Nothing was started.');
      expect((await status()).every((c) => c.state === 'stopped')).to.equal(true);
    } finally {
      squatter.close();
      await runCli(['stack', 'down'], env);
    }
  });
});

describe('moovitamix stack beside a Moovitamix API already running on this machine', function () {
  this.timeout(300_000);
  let env: NodeJS.ProcessEnv;
  let dataDir: string;
  let api: Simulator;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'moovitamix-stack-api-test-'));
    const { MONGODB_URI: _ignored, ...parent } = process.env;
    // The real API as its own instructions run it: a server on the machine that the stack did not start.
    api = createSimulator({ seed: 'already-running', tracks: 140, users: 90 });
    env = {
      ...parent,
      MOOVITAMIX_DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePortPair(1000)}`,
      MOOVITAMIX_MONGODB_PORT: String(await freePort()),
      MOOVITAMIX_API_URL: await api.listen(0),
      TEMPORAL_TASK_QUEUE: 'stack-api-test',
      MOOVITAMIX_METRICS_PORT: '0',
    };
  });

  after(async () => {
    await runCli(['stack', 'down'], env);
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('up uses it and starts no simulator; status shows it as the external API', async () => {
    const up = await runCli(['stack', 'up'], env);
    expect(up.code, up.stdout + up.stderr).to.equal(0);
    expect(up.stdout).to.include(
      `simulator not started: the Moovitamix API already answers at ${env.MOOVITAMIX_API_URL} (external, not managed by this stack)`,
    );
    const components: ComponentStatus[] = JSON.parse((await runCli(['stack', 'status', '--json'], env)).stdout);
    expect(components.map((c) => [c.component, c.state])).to.deep.equal([
      ['temporal', 'running'],
      ['mongodb', 'running'],
      ['simulator', 'external'],
      ['worker', 'running'],
    ]);
    expect(components[2]).to.deep.include({
      pid: null,
      address: env.MOOVITAMIX_API_URL,
      detail: 'the Moovitamix API on this machine, not managed by this stack',
      logFile: null,
    });
  });

  it('a daily run ingests from it', async () => {
    const served = requestsServed(api);
    const run = await runCli(['run', '--date', '2026-03-02', '--wait', '--json'], env);
    expect(run.code, run.stderr).to.equal(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.status).to.equal('COMPLETED');
    expect(summary.sources.tracks).to.include({ fetched: 140, inserted: 140 });
    expect(summary.sources.users).to.include({ fetched: 90, inserted: 90 });
    // Two pages of tracks, one of users, one of listen history, each probed again at the end.
    expect(requestsServed(api) - served).to.be.at.least(4);
  });

  it('down leaves it running: the stack did not start it', async () => {
    const down = await runCli(['stack', 'down'], env);
    expect(down.code).to.equal(0);
    expect(down.stdout).to.not.match(/simulator/);
    expect(await answersMoovitamixContract(env.MOOVITAMIX_API_URL as string)).to.equal(true);
  });
});
