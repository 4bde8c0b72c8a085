import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import {
  activityRetries,
  expectExactRun,
  killWorker,
  requestsServed,
  runActivities,
  startWorkerProcess,
  totalRetries,
  until,
  type WorkerProcess,
} from '../support/chaos.js';
import { startRestartableFerretdb, type RestartableServer } from '../support/restartableServers.js';
import { getTestStack, type TestStack } from '../support/testStack.js';

// The database stops for 20 s mid-run and comes back on the same port and SQLite
// files: the activities that failed meanwhile are retried and the run completes with
// exact counts, nothing written twice.

const RECORDS = 1200;
const DOWN_MS = 20_000;

describe('chaos: the database restarts mid-run', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let sim: Simulator;
  let ferret: RestartableServer;
  let dir: string;
  let worker: WorkerProcess | undefined;

  before(async () => {
    stack = await getTestStack();
    dir = mkdtempSync(join(tmpdir(), 'moovitamix-chaos-db-'));
    ferret = await startRestartableFerretdb(dir);
    sim = createSimulator({ seed: 'db-restart', tracks: RECORDS, users: RECORDS, listenHistory: RECORDS, latencyMs: 300 });
  });
  after(async () => {
    if (worker) await killWorker(worker);
    await sim.close();
    await ferret.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('retries through a 20 s database outage and completes with exact counts', async () => {
    const apiUrl = await sim.listen(0);
    const db = 'chaos_db_restart';
    const queue = 'chaos-db-restart';
    worker = await startWorkerProcess(
      stack.env({ MOOVITAMIX_API_URL: apiUrl, MONGODB_URI: ferret.address, MONGODB_DB: db, TEMPORAL_TASK_QUEUE: queue, MOOVITAMIX_LOG_LEVEL: 'ERROR' }),
    );

    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const client = new Client({ connection });
      const workflowId = 'chaos-db-restart-2026-03-02';
      const handle = await client.workflow.start<typeof dailyPipeline>('dailyPipeline', {
        workflowId,
        taskQueue: queue,
        args: [{ date: '2026-03-02', concurrency: 1, maxRanges: 1, recommend: false, drift: false }],
      });

      // Each source reads its pages one after another (a probe first): stop after a few.
      const pagesTotal = 3 * (RECORDS / 100);
      await until(() => requestsServed(sim) >= 9, 60_000, 'fetching is under way');
      const atStop = requestsServed(sim);
      const stopping = Date.now();
      await ferret.stop();
      const stoppedAt = Date.now();
      expect((await handle.describe()).status.name, 'stopped mid-run').to.equal('RUNNING');
      await new Promise((r) => setTimeout(r, DOWN_MS));
      await ferret.start();
      const restartedAt = Date.now();

      const result = await handle.result();
      const recoveredMs = Date.now() - restartedAt;
      const activities = await runActivities(client, workflowId);
      const retried = activityRetries(activities);
      expect(retried, 'activities were retried after the outage').to.be.greaterThan(0);

      const mongo = await MongoClient.connect(ferret.address);
      try {
        await expectExactRun(mongo.db(db), sim, result, RECORDS);
      } finally {
        await mongo.close();
      }
      process.stderr.write(
        `    [chaos] database: stop took ${((stoppedAt - stopping) / 1000).toFixed(1)} s, down ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s (stop at ${atStop}/${pagesTotal} requests); ` +
          `run finished ${(recoveredMs / 1000).toFixed(1)} s after the restart; ${activities.length} activities, ${retried} Temporal retries, ` +
          `${totalRetries(result)} request retries; ${result.sources.tracks?.requests} + ${result.sources.users?.requests} + ${result.sources.listen_history?.requests} requests\n`,
      );
    } finally {
      await connection.close();
    }
  });
});
