import { expect } from 'chai';
import { Client, Connection } from '@temporalio/client';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { expectExactRun, killWorker, runActivities, requestsServed, startWorkerProcess, until, type WorkerProcess } from '../support/chaos.js';
import { getTestStack, type TestStack } from '../support/testStack.js';

// Two worker processes on one task queue share a run's activities; one is SIGKILLed
// mid-run and the other finishes the run with exact counts.

const RECORDS = 1200;

describe('chaos: two workers share a run, one is killed', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let sim: Simulator;
  const workers: WorkerProcess[] = [];

  before(async () => {
    stack = await getTestStack();
    // One page per range and slow pages: many short activities, so both workers take some early.
    sim = createSimulator({ seed: 'scale-out', tracks: RECORDS, users: RECORDS, listenHistory: RECORDS, latencyMs: 150 });
  });
  after(async () => {
    for (const w of workers) await killWorker(w);
    await sim.close();
  });

  it('spreads activities over both workers and survives losing one', async () => {
    const apiUrl = await sim.listen(0);
    const db = `${stack.mongodbDb}_scaleout`;
    const queue = 'chaos-scale-out';
    const env = stack.env({ MOOVITAMIX_API_URL: apiUrl, MONGODB_DB: db, TEMPORAL_TASK_QUEUE: queue, MOOVITAMIX_LOG_LEVEL: 'ERROR' });
    const [a, b] = await Promise.all([startWorkerProcess(env), startWorkerProcess(env)]);
    workers.push(a as WorkerProcess, b as WorkerProcess);
    const survivor = a as WorkerProcess;
    const victim = b as WorkerProcess;
    // A worker's default identity is <pid>@<host>.
    const identityOf = (w: WorkerProcess) => `${w.child.pid}@`;

    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const client = new Client({ connection });
      const workflowId = 'chaos-scale-out-2026-03-01';
      const handle = await client.workflow.start<typeof dailyPipeline>('dailyPipeline', {
        workflowId,
        taskQueue: queue,
        args: [{ date: '2026-03-01', concurrency: 3, maxRanges: RECORDS / 100, heartbeatTimeout: '3 seconds', recommend: false, drift: false }],
      });

      const startedBy = async () => (await runActivities(client, workflowId)).map((r) => r.identity);
      const did = (ids: string[], w: WorkerProcess) => ids.filter((i) => i.startsWith(identityOf(w))).length;
      await until(
        async () => {
          const ids = await startedBy();
          return did(ids, survivor) > 0 && did(ids, victim) > 0;
        },
        60_000,
        'both workers have completed activities',
      );
      const pagesTotal = 3 * (RECORDS / 100);
      const atKill = requestsServed(sim);
      const before = await startedBy();
      await killWorker(victim);
      const killedAt = Date.now();
      // Probes read page 1 twice per source: fewer than half the pages were fetched.
      expect(atKill, 'killed mid-run').to.be.lessThan(pagesTotal / 2 + 6);

      const result = await handle.result();
      const recoveredMs = Date.now() - killedAt;
      const after = await startedBy();
      expect(did(before, victim), 'the killed worker did work before the kill').to.be.greaterThan(0);
      expect(did(after, survivor), 'the survivor took over the rest of the run').to.be.greaterThan(did(before, survivor));
      expect(
        after.every((i) => i.startsWith(identityOf(survivor)) || i.startsWith(identityOf(victim))),
        'only these two workers',
      ).to.equal(true);

      await expectExactRun((await stack.mongo()).db(db), sim, result, RECORDS);
      process.stderr.write(
        `    [chaos] scale-out: activities before the kill ${did(before, survivor)} + ${did(before, victim)}, ` +
          `after ${did(after, survivor)} (survivor) + ${did(after, victim)} (killed); requests at kill ${atKill}/${pagesTotal}; ` +
          `run finished ${(recoveredMs / 1000).toFixed(1)} s after the kill\n`,
      );
    } finally {
      await connection.close();
    }
  });
});
