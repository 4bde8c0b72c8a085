import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../stack/processes.js';
import type { ComponentStatus } from '../../stack/stack.js';
import { runCli } from '../support/cli.js';
import { freePort, freePortPair } from '../../stack/ports.js';

// `moovitamix stack` for real, on free ports and a data directory of its own, so it
// never meets a developer's running stack.

describe('moovitamix stack', function () {
  this.timeout(300_000);
  let env: NodeJS.ProcessEnv;
  let dataDir: string;

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
