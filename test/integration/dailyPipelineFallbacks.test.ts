import { expect } from 'chai';
import { ApplicationFailure } from '@temporalio/common';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { CheckSourceResult, RunHealth } from '../../contracts/health.js';
import type { Activities } from '../../activities/index.js';
import { emptyMergeStats } from '../../contracts/ingest.js';
import type { PipelineRecommendations } from '../../contracts/pipeline.js';
import { prebuiltBundlePath } from '../../worker/workflowBundle.js';
import type { DailyPipelineInput, DailyPipelineResult } from '../../contracts/workflows.js';
import { getTestStack } from '../support/testStack.js';
import type { DriftOutcome } from '../../contracts/training.js';

// The daily run's fallback branches, which real runs seldom take: the real workflow code on
// the real Temporal server, its activities stubbed (an upstream with nothing to fetch, and
// the one fault each test is about). Seconds each, where a real run takes minutes.

const TASK_QUEUE = 'daily-fallbacks';

const passing = (source: CheckSourceResult['source']): CheckSourceResult => ({
  source,
  status: 'pass',
  counts: { pass: 3, warn: 0, fail: 0 },
  blocking: false,
  failing: [],
});

const healthy: RunHealth = { status: 'pass', counts: { pass: 9, warn: 0, fail: 0 }, sources: {}, downstream: { allowed: true, reason: null } };

/** What the stubs were called with, by activity. */
type Calls = Record<string, unknown[]>;

/** Activities for a day on which upstream serves nothing; `faults` replaces some of them. */
function stubActivities(
  calls: Calls,
  faults: Partial<Record<keyof Activities, (input: unknown) => Promise<unknown>>>,
): Record<string, (input: unknown) => Promise<unknown>> {
  const base: Record<string, (input: unknown) => Promise<unknown>> = {
    recordRun: async () => undefined,
    probeSource: async () => ({ total: 0, pages: 0 }),
    fetchPageRange: async () => {
      throw ApplicationFailure.nonRetryable('no page to fetch on an empty upstream');
    },
    mergeSource: async () => emptyMergeStats(),
    dropStaging: async () => undefined,
    checkSource: async (input) => passing((input as { source: CheckSourceResult['source'] }).source),
    summarizeRun: async () => healthy,
    recordRecommendations: async () => undefined,
    checkDrift: async () => undefined,
    recordDrift: async () => undefined,
    evaluateAlerts: async () => ({ opened: 0, ongoing: 0, resolved: 0, open: { critical: 0, warning: 0 } }),
    deliverAlerts: async () => undefined,
    deliverSummary: async () => undefined,
    ...faults,
  };
  return Object.fromEntries(
    Object.entries(base).map(([name, fn]) => [
      name,
      (input: unknown) => {
        (calls[name] ??= []).push(input);
        return fn(input);
      },
    ]),
  );
}

describe('the daily run when a step after the ingest fails (workflow code, stubbed activities)', function () {
  this.timeout(60_000);
  let client: Client;
  let connection: Connection;
  let workerConnection: NativeConnection;
  let namespace: string;
  let n = 0;

  before(async () => {
    const stack = await getTestStack();
    namespace = stack.config().temporalNamespace;
    connection = await Connection.connect({ address: stack.temporalAddress });
    client = new Client({ connection, namespace });
    workerConnection = await NativeConnection.connect({ address: stack.temporalAddress });
  });
  after(async () => {
    await connection?.close();
    await workerConnection?.close();
  });

  /** Runs one daily pipeline on a worker whose activities are the stubs; returns its result and the calls. */
  async function run(
    faults: Parameters<typeof stubActivities>[1],
    input: DailyPipelineInput = {},
    before?: (workflowId: string) => Promise<void>,
  ): Promise<{ result: DailyPipelineResult; calls: Calls; workflowId: string }> {
    const calls: Calls = {};
    const worker = await Worker.create({
      connection: workerConnection,
      namespace,
      taskQueue: TASK_QUEUE,
      workflowBundle: { codePath: prebuiltBundlePath },
      activities: stubActivities(calls, faults),
    });
    const workflowId = `fallbacks-${Date.now()}-${n++}`;
    const result = await worker.runUntil(async () => {
      await before?.(workflowId);
      return client.workflow.execute('dailyPipeline', { workflowId, taskQueue: TASK_QUEUE, args: [{ date: '2026-03-01', ...input }] });
    });
    return { result: result as DailyPipelineResult, calls, workflowId };
  }

  it('health that cannot be recorded is a failing health: recommendations are skipped with the reason, drift is not checked', async () => {
    const { result, calls } = await run({
      summarizeRun: async () => {
        throw ApplicationFailure.nonRetryable('the store refused the report');
      },
    });
    expect(result.status).to.equal('COMPLETED');
    const reason = 'health could not be recorded: the store refused the report';
    expect(result.health).to.deep.equal({ status: 'fail', counts: { pass: 9, warn: 0, fail: 0 }, sources: {}, downstream: { allowed: false, reason } });
    const skipped: PipelineRecommendations = { status: 'skipped', workflowId: `${result.workflowId}/recommend`, reason };
    expect(result.recommendations).to.deep.equal(skipped);
    expect(calls.recordRecommendations).to.deep.equal([{ workflowId: result.workflowId, recommendations: skipped }]);
    expect(calls.checkDrift, 'no drift check on unknown health').to.equal(undefined);
    expect(result.drift).to.equal(undefined);
    expect(calls.summarizeRun).to.have.length(1, 'a refusal is not retried');
    expect(calls.deliverSummary, 'the summary still goes out').to.have.length(1);
  });

  it('checks that cannot run count as one failing, blocking check of their source; the others stand', async () => {
    const { result, calls } = await run(
      {
        checkSource: async (input) => {
          const { source } = input as { source: CheckSourceResult['source'] };
          if (source === 'users') throw ApplicationFailure.nonRetryable('users raw layer unreadable');
          return passing(source);
        },
      },
      { recommend: false, drift: false },
    );
    expect(result.status).to.equal('COMPLETED');
    const checks = (calls.summarizeRun?.[0] as { checks: CheckSourceResult[] }).checks;
    expect(checks).to.deep.equal([
      passing('tracks'),
      { source: 'users', status: 'fail', counts: { pass: 0, warn: 0, fail: 1 }, blocking: true, failing: ['checks could not run: users raw layer unreadable'] },
      passing('listen_history'),
    ]);
    expect(calls.checkSource).to.have.length(3);
    expect(calls.recordRecommendations, 'recommend: false').to.equal(undefined);
  });

  it('a drift whose retraining was started already (a re-run of the date) is reported as drifted, naming it, and the run completes', async () => {
    const drifted: DriftOutcome = {
      drifted: true,
      reasons: ['PSI of listens over tracks 0.4 > 0.2'],
      skipped: null,
      psiTracks: 0.4,
      psiGenres: 0.1,
      championNdcgThen: 0.1,
      championNdcgNow: 0.09,
      champion: 'als@1',
      snapshotId: 's2',
      referenceSnapshotId: 's1',
    };
    // The first run of the date started its retraining (here one that fails at once: its id is what counts).
    const startedBefore = async (workflowId: string) => {
      const handle = await client.workflow.start('retrain', { workflowId: `${workflowId}/retrain`, taskQueue: TASK_QUEUE, args: [{ trigger: 'bogus' }] });
      const error = await handle.result().catch((err: unknown) => err);
      expect(error).to.be.instanceOf(WorkflowFailedError);
    };
    const { result, calls, workflowId } = await run({ checkDrift: async () => drifted }, { recommend: false }, startedBefore);
    const retrainId = `${workflowId}/retrain`;
    expect(result.status).to.equal('COMPLETED');
    expect(result.drift).to.deep.equal({
      status: 'drifted',
      reasons: ['PSI of listens over tracks 0.4 > 0.2', `retraining ${retrainId} was started already`],
      figures: { psiTracks: 0.4, psiGenres: 0.1, championNdcgThen: 0.1, championNdcgNow: 0.09 },
      retrainWorkflowId: retrainId,
    });
    expect(calls.recordDrift).to.deep.equal([{ workflowId, drift: result.drift }]);
  });
});
