import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Client, Connection } from '@temporalio/client';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { activityRetries, expectExactRun, killWorker, requestsServed, runActivities, startWorkerProcess, until, type WorkerProcess } from '../support/chaos.js';
import { startRestartableTemporal, type RestartableServer } from '../support/restartableServers.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { SOURCE_NAMES } from '../../contracts/names.js';

// Temporal restarts mid-run on the same port and database file: the worker and the
// client reconnect and the same execution carries on from its history, fetching again
// at most the pages in flight, and completes with exact counts.

const RECORDS = 1200;
const RANGES = 2;
const DOWN_MS = 8_000;

describe('chaos: the orchestrator restarts mid-run', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let sim: Simulator;
  let temporal: RestartableServer;
  let dir: string;
  let worker: WorkerProcess | undefined;

  before(async () => {
    stack = await getTestStack();
    dir = mkdtempSync(join(tmpdir(), 'moovitamix-chaos-temporal-'));
    temporal = await startRestartableTemporal(dir);
    sim = createSimulator({ seed: 'temporal-restart', tracks: RECORDS, users: RECORDS, listenHistory: RECORDS, latencyMs: 300 });
  });
  after(async () => {
    if (worker) await killWorker(worker);
    await sim.close();
    await temporal.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries on from its history after a restart and completes with exact counts', async () => {
    const apiUrl = await sim.listen(0);
    const db = `${stack.mongodbDb}_temporal_restart`;
    const queue = 'chaos-temporal-restart';
    worker = await startWorkerProcess(
      stack.env({ MOOVITAMIX_API_URL: apiUrl, TEMPORAL_ADDRESS: temporal.address, MONGODB_DB: db, TEMPORAL_TASK_QUEUE: queue, MOOVITAMIX_LOG_LEVEL: 'ERROR' }),
    );

    const connection = await Connection.connect({ address: temporal.address });
    try {
      const client = new Client({ connection });
      const workflowId = 'chaos-temporal-restart-2026-03-03';
      const handle = await client.workflow.start<typeof dailyPipeline>('dailyPipeline', {
        workflowId,
        taskQueue: queue,
        args: [{ date: '2026-03-03', concurrency: RANGES, maxRanges: RANGES, heartbeatTimeout: '10 seconds', recommend: false, drift: false }],
      });
      const firstRunId = handle.firstExecutionRunId;

      const pagesTotal = 3 * (RECORDS / 100);
      await until(() => requestsServed(sim) >= 12, 60_000, 'fetching is under way');
      const atStop = requestsServed(sim);
      const stopping = Date.now();
      await temporal.stop();
      const stoppedAt = Date.now();
      // Down long enough for ranges in flight to finish meanwhile: their results wait for the server.
      await new Promise((r) => setTimeout(r, DOWN_MS));
      await temporal.start();
      const restartedAt = Date.now();
      // Ranges in flight go on fetching while Temporal is down; the stop landed mid-fetch.
      expect(atStop, 'stopped mid-run').to.be.lessThan(pagesTotal);

      // The client's connection reconnects by itself; the same execution completes.
      await until(async () => (await handle.describe().catch(() => undefined))?.status.name === 'COMPLETED', 120_000, 'the run completes');
      const recoveredMs = Date.now() - restartedAt;
      const result = await handle.result();
      expect(result.runId, 'the same execution').to.equal(firstRunId);
      const activities = await runActivities(client, workflowId);

      const mongo = await stack.mongo();
      await expectExactRun(mongo.db(db), sim, result, RECORDS);
      // Pages staged before the restart are not fetched again: at most the one in flight
      // per range attempt (first attempts, and those Temporal retried after the restart).
      let again = 0;
      for (const name of SOURCE_NAMES) {
        const counts = [...sim.requestCounts()].filter(([k]) => k.startsWith(`/${name}?`)).map(([k, v]) => (k.endsWith('page=1') ? v - 2 : v));
        expect(counts, `${name}: pages`).to.have.length(RECORDS / 100);
        expect(
          counts.every((v) => v >= 1),
          `${name}: every page fetched`,
        ).to.equal(true);
        again += counts.reduce((n, v) => n + v - 1, 0);
      }
      expect(again, 'pages fetched again').to.be.at.most(SOURCE_NAMES.length * RANGES + activityRetries(activities));
      process.stderr.write(
        `    [chaos] orchestrator: stop took ${((stoppedAt - stopping) / 1000).toFixed(1)} s, down ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s ` +
          `(stop at ${atStop}/${pagesTotal} requests); run finished ${(recoveredMs / 1000).toFixed(1)} s after the restart; ` +
          `${activities.length} activities, ${activityRetries(activities)} Temporal retries; ${requestsServed(sim)} requests served, ${again} pages fetched again\n`,
      );
    } finally {
      await connection.close();
    }
  });
});
