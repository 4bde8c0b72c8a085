import { expect } from 'chai';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { CheckSourceResult, RunHealth } from '../../contracts/health.js';
import type { Activities } from '../../activities/index.js';
import { emptyMergeStats } from '../../contracts/ingest.js';
import type { PipelineRecommendations } from '../../contracts/pipeline.js';
import type { DailyPipelineInput, DailyPipelineResult } from '../../contracts/workflows.js';
import { StubbedWorkflows, type Calls, type Stub } from '../support/stubbedWorker.js';
import type { DriftOutcome } from '../../contracts/training.js';

// The daily run's fallback branches, which real runs seldom take: the real workflow code on
// the real Temporal server, its activities stubbed (an upstream with nothing to fetch, and
// the one fault each test is about). Seconds each, where a real run takes minutes.

const passing = (source: CheckSourceResult['source']): CheckSourceResult => ({
  source,
  status: 'pass',
  counts: { pass: 3, warn: 0, fail: 0 },
  blocking: false,
  failing: [],
});

const healthy: RunHealth = { status: 'pass', counts: { pass: 9, warn: 0, fail: 0 }, sources: {}, downstream: { allowed: true, reason: null } };

/** Activities for a day on which upstream serves nothing; `faults` replaces some of them. */
function stubActivities(faults: Partial<Record<keyof Activities, Stub>>): Record<string, Stub> {
  return {
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
}

describe('the daily run when a step after the ingest fails (workflow code, stubbed activities)', function () {
  this.timeout(60_000);
  let workflows: StubbedWorkflows;
  let n = 0;

  before(async () => {
    workflows = await StubbedWorkflows.open();
  });
  after(() => workflows?.close());

  /** Runs one daily pipeline on a worker whose activities are the stubs; returns its result and the calls. */
  async function run(
    faults: Partial<Record<keyof Activities, Stub>>,
    input: DailyPipelineInput = {},
    before?: (workflowId: string, taskQueue: string) => Promise<void>,
  ): Promise<{ result: DailyPipelineResult; calls: Calls; workflowId: string }> {
    const workflowId = `fallbacks-${Date.now()}-${n++}`;
    const { value, calls } = await workflows.run(stubActivities(faults), async (taskQueue) => {
      await before?.(workflowId, taskQueue);
      return workflows.client.workflow.execute('dailyPipeline', { workflowId, taskQueue, args: [{ date: '2026-03-01', ...input }] });
    });
    return { result: value as DailyPipelineResult, calls, workflowId };
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
    const startedBefore = async (workflowId: string, taskQueue: string) => {
      const handle = await workflows.client.workflow.start('retrain', { workflowId: `${workflowId}/retrain`, taskQueue, args: [{ trigger: 'bogus' }] });
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

  it('steps whose failure is only logged (alerts not evaluated, a drift outcome not recorded, deliveries refused) leave the run completed', async () => {
    const refuse = (what: string) => async () => {
      throw ApplicationFailure.nonRetryable(`${what} refused`);
    };
    const { result, calls } = await run(
      {
        checkDrift: async () => ({ drifted: false, reasons: [], skipped: 'there is no champion yet' }),
        recordDrift: refuse('drift record'),
        evaluateAlerts: refuse('alerts'),
        deliverAlerts: refuse('webhook'),
        deliverSummary: refuse('webhook'),
      },
      { recommend: false },
    );
    expect(result.status).to.equal('COMPLETED');
    expect(result.drift).to.deep.equal({ status: 'skipped', reasons: ['there is no champion yet'] });
    expect(result).to.not.have.property('alerts');
    expect(result.health).to.deep.equal(healthy);
    // Each tried once (refusals are not retried), in the order of the run's steps.
    expect([calls.recordDrift?.length, calls.evaluateAlerts?.length, calls.deliverAlerts?.length, calls.deliverSummary?.length]).to.deep.equal([1, 1, 1, 1]);
  });
});
