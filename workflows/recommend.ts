import { ApplicationFailure, ContinueAsNew, continueAsNew, log, proxyActivities, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { rootMessage } from './failures.js';
import { describeRecommend } from './memo.js';
import { recommendProgressQuery } from './queries.js';
import type { RecommendInput, RecommendProgress, RecommendTotals } from '../contracts/workflows.js';
import { MAX_RECOMPUTE_USERS, type RecommendResult } from '../contracts/recommend.js';
import type { BatchPlan, PublishOutcome } from '../contracts/recommend.js';

// Planning reads every live user, history and track once: minutes at millions of users.
const { prepareRecommendations } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
});

// A chunk heartbeats after each thousand documents; a retried one resumes from there.
const { scoreRecommendations } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

const { publishRecommendations, abandonRecommendations, pruneRecommendations } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

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
  const concurrency = Math.min(64, Math.max(1, input.concurrency ?? 4));
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

  let plan: BatchPlan | undefined = resumed?.plan;
  try {
    plan ??= await prepareRecommendations({
      batchId,
      workflowId: info.workflowId,
      mode,
      ...(users.length > 0 ? { users } : {}),
      ...(slot !== 'active' ? { slot } : {}),
    });
    if (plan.unchanged && plan.baseBatchId !== null) {
      // Nothing to score or publish: the active batch already serves every live user these lists.
      progress.chunks = 0;
      progress.stage = 'done';
      const result: RecommendResult = {
        status: 'unchanged',
        batchId: plan.baseBatchId,
        recordId: batchId,
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
      upsertMemo({ batchId: plan.baseBatchId, model: plan.model.key, summary: describeRecommend(result) });
      return result;
    }
    progress.chunks = plan.chunks;
    progress.stage = 'scoring';
    upsertMemo({
      batchId,
      model: plan.model.key,
      summary: `batch ${batchId}: ${plan.users} users, ${plan.toCompute} to compute, ${plan.toCarry} carried over, model ${plan.model.key}${plan.layout === 'overlay' ? `, an overlay on ${plan.baseBatchId}` : ''}`,
    });

    const first = resumed?.nextChunk ?? 0;
    const last = Math.min(plan.chunks, first + CHUNKS_PER_EXECUTION);
    let next = first;
    let failure: unknown;
    // After a failure no new chunk starts; those in flight finish before the batch is dropped.
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
    if (last < plan.chunks) {
      // Outside the try's failure path: continuing is not failing.
      return await continueAsNew<typeof recommend>({ ...input, resume: { plan, nextChunk: last, totals: progress.totals, startedAt } });
    }

    progress.stage = 'publishing';
    const published: PublishOutcome = await publishRecommendations({ batchId });
    progress.stage = 'pruning';
    let pruned: string[] = [];
    try {
      pruned = (await pruneRecommendations()).dropped;
    } catch (err) {
      // Old batches left behind cost space, not correctness: the next run prunes them.
      log.warn('old batches not pruned', { error: rootMessage(err) });
    }
    progress.stage = 'done';
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
    if (isContinueAsNew(err)) throw err;
    progress.stage = 'failed';
    log.error('recommendations failed; the active batch stays', { batchId, error: rootMessage(err) });
    try {
      await abandonRecommendations({ batchId, error: rootMessage(err) });
    } catch (cleanup) {
      log.warn('failed batch not cleaned up', { batchId, error: rootMessage(cleanup) });
    }
    upsertMemo({ summary: `batch ${batchId} failed, the active batch stays: ${rootMessage(err)}` });
    throw ApplicationFailure.nonRetryable(`recommendations failed, the active batch stays: ${rootMessage(err)}`, 'RecommendFailed', { batchId });
  }
}

function zeroTotals(): RecommendTotals {
  return { users: 0, computed: 0, carried: 0, coldStart: 0 };
}

function isContinueAsNew(err: unknown): boolean {
  return err instanceof ContinueAsNew;
}
