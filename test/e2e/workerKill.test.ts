import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { STAGE_BATCH } from '../../activities/ingest/fetchPageRange.js';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { RawDocument } from '../../stores/raw.js';
import { projectRoot } from '../../config/paths.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { SOURCES } from '../../sources/index.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { SOURCE_NAMES } from '../../contracts/names.js';

// A worker killed with SIGKILL mid-run, then another started: the run finishes with
// exact counts and no duplicates, fetching again at most the pages not yet written per range
// (fetchPageRange writes STAGE_BATCH pages a command).

describe('a worker killed mid-run', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let sim: Simulator;
  const workers: ChildProcess[] = [];

  before(async () => {
    stack = await getTestStack();
    // Slow pages, so that the kill lands while every range is busy.
    sim = createSimulator({ seed: 'kill', tracks: 3000, users: 3000, listenHistory: 3000, latencyMs: 120 });
  });
  after(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await sim.close();
  });

  function startWorker(env: NodeJS.ProcessEnv): ChildProcess {
    const worker = spawn(process.execPath, [join(projectRoot, 'bin', 'moovitamix.js'), 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    workers.push(worker);
    return worker;
  }

  async function untilPolling(worker: ChildProcess): Promise<void> {
    let out = '';
    worker.stdout?.on('data', (d: Buffer) => (out += d));
    while (!out.includes('Worker polling')) {
      if (worker.exitCode !== null) throw new Error(`worker exited: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('finishes with exact counts and no duplicates, re-fetching at most the pages not yet written per range', async () => {
    const apiUrl = await sim.listen(0);
    const db = `${stack.mongodbDb}_kill`;
    const env = stack.env({ MOOVITAMIX_API_URL: apiUrl, MONGODB_DB: db, TEMPORAL_TASK_QUEUE: 'kill-test', MOOVITAMIX_LOG_LEVEL: 'ERROR' });
    const first = startWorker(env);
    await untilPolling(first);

    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const client = new Client({ connection });
      const ranges = 4;
      const handle = await client.workflow.start<typeof dailyPipeline>('dailyPipeline', {
        workflowId: 'daily-2026-02-01',
        taskQueue: 'kill-test',
        args: [{ date: '2026-02-01', concurrency: ranges, maxRanges: ranges, heartbeatTimeout: '4 seconds' }],
      });

      // Kill once about a third of the pages have been requested.
      const requested = () => [...sim.requestCounts().values()].reduce((a, b) => a + b, 0);
      while (requested() < 30) await new Promise((r) => setTimeout(r, 50));
      first.kill('SIGKILL');
      await once(first, 'exit');
      const atKill = requested();
      expect(atKill, 'killed mid-run').to.be.lessThan(80);

      const second = startWorker(env);
      await untilPolling(second);
      const result = await handle.result();

      const mongo = await stack.mongo();
      for (const name of SOURCE_NAMES) {
        expect(result.sources[name], name).to.include({
          status: 'COMPLETED',
          fetched: 3000,
          valid: 3000,
          inserted: 3000,
          updated: 0,
          unchanged: 0,
          duplicates: 0,
          pages: 30,
          complete: true,
        });
        const docs = await mongo.db(db).collection<RawDocument>(SOURCES[name].rawCollection).find().toArray();
        expect(docs, name).to.have.length(3000);
        expect(new Set(docs.map((d) => d._id)).size, `${name}: no duplicates`).to.equal(3000);

        // Page 1 is also read by the two probes of the run.
        const counts = [...sim.requestCounts()]
          .filter(([k]) => k.startsWith(`/${name}?`))
          .map(([k, v]) => [Number(k.split('=')[1]), k.endsWith('page=1') ? v - 2 : v] as const);
        expect(
          counts.every(([, v]) => v >= 1 && v <= 2),
          `${name}: every page fetched once or twice`,
        ).to.equal(true);
        const again = counts.filter(([, v]) => v === 2).length;
        expect(again, `${name}: pages fetched again`).to.be.at.most(ranges * STAGE_BATCH);
        expect(again, `${name}: not every page is fetched again`).to.be.lessThan(30);
      }
    } finally {
      await connection.close();
    }
  });
});
