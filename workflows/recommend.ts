import { ApplicationFailure, ContinueAsNew, continueAsNew, log, proxyActivities, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { rootMessage } from './failures.js';
import { describeRecommend } from './memo.js';
import { recommendProgressQuery } from './queries.js';
import type { RecommendInput, RecommendProgress, RecommendTotals } from '../contracts/workflows.js';
import { MAX_RECOMPUTE_USERS, type RecommendResult } from '../contracts/recommend.js';
import type { BatchPlan, PublishOutcome } from '../contracts/recommend.js';

/** Chunks one execution schedules before it continues as new: keeps its history short. */
const CHUNKS_PER_EXECUTION = 300;

/**
 * Computes every live user's recommendations into a new batch and publishes it:
 *  1. plan: the champion model (MostPopular until there is one), the live users in
 *     chunks, who is computed and who is carried over (incremental mode), and whether the
 *     batch is full or an overlay on the active one; when nothing changed, the run ends
 *     here, `unchanged`, having written only its record;
 *  2. score the chunks, `concurrency` activities at a time; each streams its input from
 *     MongoDB, scores on worker threads and writes one document per user;
 *  3. verify (one document per planned user) and switch the active-batch pointer;
 *  4. prune old batches.
 * If any step fails for good, the batch is dropped and the active batch stays: readers
 * keep yesterday's lists. Only ids and counts pass through Temporal.
 */
export async function recommend(input: RecommendInput = {}): Promise<RecommendResult> {
  const { mode, users, slot, concurrency } = validated(input);
  const info = workflowInfo();
  const resumed = input.resume;
  const startedAt = resumed?.startedAt ?? Date.now();
  const batchId = resumed?.plan.batchId ?? `${new Date(startedAt).toISOString().replace(/[-:]/g, '').slice(0, 15)}_${info.runId.replace(/-/g, '').slice(-12)}`;
  const progress: RecommendProgress = {
    stage: 'planning',
    batchId,
    chunks: null,
    chunksDone: resumed?.nextChunk ?? 0,
    totals: resumed?.totals ?? zeroTotals(),
  };
  setHandler(recommendProgressQuery, () => progress);

  try {
    const plan =
      resumed?.plan ??
      (await prepareRecommendations({
        batchId,
        workflowId: info.workflowId,
        mode,
        ...(users.length > 0 ? { users } : {}),
        ...(slot !== 'active' ? { slot } : {}),
      }));
    if (plan.unchanged && plan.baseBatchId !== null) return unchanged(plan, batchId, slot, startedAt, progress);

    progress.chunks = plan.chunks;
    progress.stage = 'scoring';
    upsertMemo({
      batchId,
      model: plan.model.key,
      summary: `batch ${batchId}: ${plan.users} users, ${plan.toCompute} to compute, ${plan.toCarry} carried over, model ${plan.model.key}${plan.layout === 'overlay' ? `, an overlay on ${plan.baseBatchId}` : ''}`,
    });
    const first = resumed?.nextChunk ?? 0;
    const last = Math.min(plan.chunks, first + CHUNKS_PER_EXECUTION);
    await scoreChunks(batchId, first, last, concurrency, progress);
    if (last < plan.chunks) {
      // Outside the try's failure path: continuing is not failing.
      return await continueAsNew<typeof recommend>({ ...input, resume: { plan, nextChunk: last, totals: progress.totals, startedAt } });
    }
    const { published, pruned } = await publishAndPrune(batchId, progress);
    const result: RecommendResult = {
      status: 'published',
      batchId,
      layout: plan.layout ?? 'full',
      compactBecause: plan.compactBecause ?? null,
      documents: published.documents,
      removed: plan.removed ?? 0,
      slot,
      model: plan.model.key,
      mode: plan.mode,
      fullBecause: plan.fullBecause,
      chunks: plan.chunks,
      users: published.users,
      computed: published.computed,
      carried: published.carried,
      coldStart: published.coldStart,
      previousBatchId: published.previousBatchId,
      pruned,
      durationMs: Date.now() - startedAt,
    };
    upsertMemo({ summary: describeRecommend(result) });
    return result;
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    throw await abandon(batchId, err, progress);
  }
}

/** The input with its defaults, or a non-retryable InvalidInput naming what is wrong. */
function validated(input: RecommendInput) {
  const mode = input.mode ?? 'incremental';
  if (mode !== 'full' && mode !== 'incremental')
    throw ApplicationFailure.nonRetryable(`mode must be full or incremental, got ${JSON.stringify(mode)}`, 'InvalidInput');
  const users = input.users ?? [];
  if (!Array.isArray(users) || users.length > MAX_RECOMPUTE_USERS || users.some((u) => !Number.isSafeInteger(u) || u < 1)) {
    throw ApplicationFailure.nonRetryable(`users must be at most ${MAX_RECOMPUTE_USERS.toLocaleString('en-US')} positive integer user ids`, 'InvalidInput');
  }
  const slot = input.slot ?? 'active';
  if (slot !== 'active' && slot !== 'challenger')
    throw ApplicationFailure.nonRetryable(`slot must be active or challenger, got ${JSON.stringify(slot)}`, 'InvalidInput');
  return { mode, users, slot, concurrency: Math.min(64, Math.max(1, input.concurrency ?? 4)) };
}

// Planning reads every live user, history and track once: minutes at millions of users.
const { prepareRecommendations } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
});

/** Nothing to score or publish: the active batch already serves every live user these lists. */
function unchanged(plan: BatchPlan, recordId: string, slot: RecommendResult['slot'], startedAt: number, progress: RecommendProgress): RecommendResult {
  progress.chunks = 0;
  progress.stage = 'done';
  const batchId = plan.baseBatchId as string;
  const result: RecommendResult = {
    status: 'unchanged',
    batchId,
    recordId,
    slot,
    model: plan.model.key,
    mode: plan.mode,
    fullBecause: null,
    chunks: 0,
    users: plan.users,
    computed: 0,
    carried: plan.toCarry,
    coldStart: 0,
    documents: 0,
    removed: 0,
    previousBatchId: null,
    pruned: [],
    durationMs: Date.now() - startedAt,
  };
  upsertMemo({ batchId, model: plan.model.key, summary: describeRecommend(result) });
  return result;
}

// A chunk heartbeats after each thousand documents; a retried one resumes from there.
const { scoreRecommendations } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Chunks first..last-1, `concurrency` at a time; after a failure no new chunk starts, those in flight finish, and it is thrown. */
async function scoreChunks(batchId: string, first: number, last: number, concurrency: number, progress: RecommendProgress): Promise<void> {
  let next = first;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    for (let chunk = next++; chunk < last && failure === undefined; chunk = next++) {
      let outcome;
      try {
        outcome = await scoreRecommendations({ batchId, chunk });
      } catch (err) {
        failure ??= err;
        return;
      }
      progress.chunksDone++;
      progress.totals.users += outcome.users;
      progress.totals.computed += outcome.computed;
      progress.totals.carried += outcome.carried;
      progress.totals.coldStart += outcome.coldStart;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  if (failure !== undefined) throw failure;
}

const { publishRecommendations, abandonRecommendations, pruneRecommendations } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Verifies and switches the pointer, then prunes old batches (left behind, they cost space, not correctness). */
async function publishAndPrune(batchId: string, progress: RecommendProgress): Promise<{ published: PublishOutcome; pruned: string[] }> {
  progress.stage = 'publishing';
  const published = await publishRecommendations({ batchId });
  progress.stage = 'pruning';
  let pruned: string[] = [];
  try {
    pruned = (await pruneRecommendations()).dropped;
  } catch (err) {
    log.warn('old batches not pruned', { error: rootMessage(err) });
  }
  progress.stage = 'done';
  return { published, pruned };
}

/** A batch that failed for good is dropped; the active batch stays. Returns the failure the run ends with. */
async function abandon(batchId: string, err: unknown, progress: RecommendProgress): Promise<ApplicationFailure> {
  progress.stage = 'failed';
  log.error('recommendations failed; the active batch stays', { batchId, error: rootMessage(err) });
  try {
    await abandonRecommendations({ batchId, error: rootMessage(err) });
  } catch (cleanup) {
    log.warn('failed batch not cleaned up', { batchId, error: rootMessage(cleanup) });
  }
  upsertMemo({ summary: `batch ${batchId} failed, the active batch stays: ${rootMessage(err)}` });
  return ApplicationFailure.nonRetryable(`recommendations failed, the active batch stays: ${rootMessage(err)}`, 'RecommendFailed', { batchId });
}

function zeroTotals(): RecommendTotals {
  return { users: 0, computed: 0, carried: 0, coldStart: 0 };
}
