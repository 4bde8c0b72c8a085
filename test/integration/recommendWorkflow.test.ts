import { expect } from 'chai';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { BatchPlan, RecommendResult } from '../../contracts/recommend.js';
import { StubbedWorkflows, type Stub } from '../support/stubbedWorker.js';

// The recommend workflow's paths real runs seldom take: a batch that fails for good, and a
// batch of more chunks than one execution schedules (it continues as new). Real workflow
// code on the real Temporal server, its activities stubbed.

const plan = (chunks: number, extra: Partial<BatchPlan> = {}): BatchPlan => ({
  batchId: 'b',
  collection: 'recommendations_b',
  model: { key: 'item-knn@1', name: 'item-knn', version: '1', family: 'item-knn' },
  mode: 'incremental',
  slot: 'active',
  baseBatchId: null,
  fullBecause: 'no active batch',
  chunks,
  users: chunks * 10,
  toCompute: chunks * 10,
  toCarry: 0,
  ...extra,
});

function activities(p: BatchPlan, overrides: Record<string, Stub> = {}): Record<string, Stub> {
  return {
    prepareRecommendations: async (input) => ({ ...p, batchId: (input as { batchId: string }).batchId }),
    scoreRecommendations: async (input) => ({ chunk: (input as { chunk: number }).chunk, users: 10, computed: 9, carried: 0, coldStart: 1 }),
    publishRecommendations: async (input) => ({
      batchId: (input as { batchId: string }).batchId,
      users: p.users,
      computed: p.chunks * 9,
      carried: 0,
      coldStart: p.chunks,
      previousBatchId: null,
      documents: p.users,
    }),
    pruneRecommendations: async () => ({ dropped: ['old'] }),
    abandonRecommendations: async () => undefined,
    ...overrides,
  };
}

describe('the recommend workflow (workflow code, stubbed activities)', function () {
  this.timeout(120_000);
  let workflows: StubbedWorkflows;
  let n = 0;
  before(async () => {
    workflows = await StubbedWorkflows.open();
  });
  after(() => workflows?.close());

  it('a chunk that fails for good drops the batch and fails the run; the active batch stays', async () => {
    const workflowId = `recommend-fails-${Date.now()}-${n++}`;
    const { value, calls } = await workflows.run(
      activities(plan(6), {
        scoreRecommendations: async (input) => {
          if ((input as { chunk: number }).chunk === 2) throw ApplicationFailure.nonRetryable('the store refused chunk 2');
          return { chunk: (input as { chunk: number }).chunk, users: 10, computed: 10, carried: 0, coldStart: 0 };
        },
      }),
      (taskQueue) => workflows.client.workflow.execute('recommend', { workflowId, taskQueue, args: [{ concurrency: 1 }] }).catch((err: unknown) => err),
    );
    expect(value).to.be.instanceOf(WorkflowFailedError);
    const cause = (value as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).to.equal('RecommendFailed');
    expect(cause.message).to.equal('recommendations failed, the active batch stays: the store refused chunk 2');
    const batchId = (calls.prepareRecommendations?.[0] as { batchId: string }).batchId;
    expect(calls.abandonRecommendations).to.deep.equal([{ batchId, error: 'the store refused chunk 2' }]);
    // One lane: chunks 0 and 1 scored, 2 failed, none started after it; nothing published.
    expect((calls.scoreRecommendations ?? []).map((c) => (c as { chunk: number }).chunk)).to.deep.equal([0, 1, 2]);
    expect(calls.publishRecommendations).to.equal(undefined);
  });

  it('a batch of more chunks than one execution schedules continues as new and publishes every chunk once', async () => {
    const workflowId = `recommend-long-${Date.now()}-${n++}`;
    const { value, calls } = await workflows.run(activities(plan(305)), (taskQueue) =>
      workflows.client.workflow.execute('recommend', { workflowId, taskQueue, args: [{ concurrency: 16 }] }),
    );
    const result = value as RecommendResult;
    expect(calls.prepareRecommendations, 'planned once: the continuation carries the plan').to.have.length(1);
    const chunks = (calls.scoreRecommendations ?? []).map((c) => (c as { chunk: number }).chunk).sort((a, b) => a - b);
    expect(chunks).to.deep.equal(Array.from({ length: 305 }, (_, i) => i));
    expect(calls.publishRecommendations).to.have.length(1);
    expect(result).to.include({ status: 'published', chunks: 305, users: 3050, computed: 305 * 9, coldStart: 305, slot: 'active', layout: 'full' });
    expect(result.pruned).to.deep.equal(['old']);
    // Visibility catches up with the executions asynchronously: asked until both are listed.
    let executions: string[] = [];
    for (const deadline = Date.now() + 15_000; executions.length < 2 && Date.now() < deadline;) {
      executions = [];
      for await (const e of workflows.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) executions.push(e.status.name);
      if (executions.length < 2) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(executions.sort()).to.deep.equal(['COMPLETED', 'CONTINUED_AS_NEW']);
  });

  it('an unchanged plan scores and publishes nothing, and names the batch that stays', async () => {
    const workflowId = `recommend-unchanged-${Date.now()}-${n++}`;
    const { value, calls } = await workflows.run(activities(plan(4, { unchanged: true, baseBatchId: 'base', toCarry: 40, toCompute: 0 })), (taskQueue) =>
      workflows.client.workflow.execute('recommend', { workflowId, taskQueue, args: [{}] }),
    );
    const result = value as RecommendResult;
    expect(result).to.include({ status: 'unchanged', batchId: 'base', chunks: 0, computed: 0, carried: 40, documents: 0 });
    expect(result.recordId).to.equal((calls.prepareRecommendations?.[0] as { batchId: string }).batchId);
    expect(calls.scoreRecommendations).to.equal(undefined);
    expect(calls.publishRecommendations).to.equal(undefined);
  });
});
