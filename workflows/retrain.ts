import {
  ActivityFailure,
  ApplicationFailure,
  executeChild,
  log,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { rootMessage } from './failures.js';
import { retrainProgressQuery } from './queries.js';
import { recommend } from './recommend.js';
import type { RetrainInput, RetrainProgress, RetrainRecommendations, RetrainResult } from '../contracts/workflows.js';
import type { ModelFamily } from '../contracts/names.js';
import type { TrainCandidateOutcome, ScoredModel } from '../contracts/training.js';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTES_PATCH } from '../contracts/searchAttributes.js';

// Reading every live listen once: minutes at millions of users.
const { snapshotTrainingData, retrainFamilies } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
});

// A fit is CPU-bound on training threads; the activity heartbeats while they work. A retry
// finds a version already registered by the same run and family and returns it.
const { trainCandidate, evaluateReferences } = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '10 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 3 },
});

/** Each family in turn (each fit uses every core of its worker); one that fails (bad parameters, out of memory) leaves the others to compete. */
async function trainAll(
  runId: string,
  snapshotId: string,
  families: ModelFamily[],
  seed: number,
  params: RetrainInput['params'],
  progress: RetrainProgress,
): Promise<TrainCandidateOutcome[]> {
  progress.stage = 'training';
  const candidates: TrainCandidateOutcome[] = [];
  for (const family of families) {
    progress.training = family;
    const given = params?.[family];
    try {
      candidates.push(await trainCandidate({ runId, snapshotId, family, seed, ...(given ? { params: given } : {}) }));
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      log.error('candidate not trained', { family, error: rootMessage(err) });
      candidates.push({ status: 'skipped', family, reason: `training failed: ${rootMessage(err)}` });
    }
    progress.trained.push(family);
  }
  progress.training = null;
  return candidates;
}

const { decideRetraining } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

// Workflows may not import the models (they are not deterministic-sandbox code): the names only.
const FAMILIES = ['most-popular', 'item-knn', 'rp3beta', 'als', 'ease'] as const satisfies readonly ModelFamily[];
type _EveryFamilyListed = Exclude<ModelFamily, (typeof FAMILIES)[number]> extends never ? true : never;
const _everyFamilyListed: _EveryFamilyListed = true;

/**
 * Retrains the recommendation model:
 *  1. freeze today's live listens in a snapshot;
 *  2. train each candidate family on the snapshot's training split and score it on the
 *     held-out last listens (registered as a `candidate` version with its metrics and lineage);
 *  3. score MostPopular and the serving champion on the very same split;
 *  4. decide: promote the best candidate only if it beats the champion's NDCG@10 by the
 *     configured uplift, beats MostPopular and keeps coverage above the guardrail; the
 *     decision and every reason are stored (`model_decisions`) and shown in the memo;
 *  5. after a promotion, recompute every user's recommendations (a `recommend` child);
 *     with the canary on, also the challenger's batch.
 * Only ids, seeds and metrics pass through Temporal.
 */
export async function retrain(input: RetrainInput = {}): Promise<RetrainResult> {
  const info = workflowInfo();
  // What makes this run's versions and decision its own, even if a later run reuses the workflow id.
  const runKey = `${info.workflowId}@${info.firstExecutionRunId}`;
  const started = Date.now();
  const trigger = input.trigger ?? 'manual';
  if (!['schedule', 'manual', 'drift'].includes(trigger))
    throw ApplicationFailure.nonRetryable(`trigger must be schedule, manual or drift, got ${JSON.stringify(trigger)}`, 'InvalidInput');
  if (input.seed !== undefined && (!Number.isSafeInteger(input.seed) || input.seed < 0 || input.seed > 0xffffffff))
    throw ApplicationFailure.nonRetryable('seed must be a whole number from 0 to 2^32-1', 'InvalidInput');
  if (
    input.families !== undefined &&
    (!Array.isArray(input.families) ||
      input.families.length === 0 ||
      input.families.length > 8 ||
      input.families.some((f) => !(FAMILIES as readonly string[]).includes(f)))
  ) {
    throw ApplicationFailure.nonRetryable(
      `families must be a non-empty list of ${FAMILIES.join(', ')}; got ${JSON.stringify(input.families).slice(0, 200)}`,
      'InvalidInput',
    );
  }
  // The reason lands in the memo and the decision: keep it a line of text.
  const reason = typeof input.reason === 'string' ? input.reason.replace(/\s+/g, ' ').slice(0, 500) : undefined;
  // Workflow randomness is recorded in the history: a replay draws the same seed.
  const seed = input.seed ?? Math.floor(Math.random() * 2 ** 31);
  const progress: RetrainProgress = { stage: 'snapshot', snapshotId: null, trained: [], training: null };
  setHandler(retrainProgressQuery, () => progress);
  upsertMemo({ trigger, seed, summary: `retraining (${trigger}${reason ? `: ${reason}` : ''}), seed ${seed}` });
  // Runs started before the attributes existed replay without them.
  const searchable = patched(SEARCH_ATTRIBUTES_PATCH);
  if (searchable) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.trigger, value: trigger }]);

  try {
    const families = input.families ?? (await retrainFamilies());
    const snapshot = await snapshotTrainingData();
    progress.snapshotId = snapshot.snapshotId;
    upsertMemo({ snapshotId: snapshot.snapshotId });

    const candidates = await trainAll(runKey, snapshot.snapshotId, families, seed, input.params, progress);

    progress.stage = 'evaluating';
    const references = await evaluateReferences({ snapshotId: snapshot.snapshotId, seed });

    progress.stage = 'deciding';
    const trained = candidates.flatMap((c): ScoredModel[] =>
      c.status === 'trained' ? [{ key: c.key, family: c.family, metrics: c.metrics, ...(c.tuning ? { tuning: c.tuning } : {}) }] : [],
    );
    const skipped = candidates.flatMap((c) => (c.status === 'skipped' ? [{ family: c.family, reason: c.reason }] : []));
    const decision = await decideRetraining({
      runId: runKey,
      workflowId: info.workflowId,
      trigger: reason ? `${trigger}: ${reason}` : trigger,
      snapshotId: snapshot.snapshotId,
      seed,
      candidates: trained,
      baseline: references.baseline,
      champion: references.champion,
      ...(references.championNote ? { championNote: references.championNote } : {}),
      skipped,
    });
    upsertMemo({ promoted: decision.promoted, challenger: decision.challenger, summary: decision.summary });
    if (searchable) {
      const family = trained.find((c) => c.key === decision.promoted)?.family;
      upsertSearchAttributes([
        { key: SEARCH_ATTRIBUTES.decision, value: decision.promoted ? 'promoted' : decision.canary ? 'canary' : 'kept' },
        ...(decision.promoted ? [{ key: SEARCH_ATTRIBUTES.model, value: decision.promoted }] : []),
        ...(family ? [{ key: SEARCH_ATTRIBUTES.promotedFamily, value: family }] : []),
      ]);
    }

    const recommendations: RetrainRecommendations[] = [];
    if (input.recompute !== false) {
      progress.stage = 'recommending';
      if (decision.promoted) recommendations.push(await recompute(`${info.workflowId}/recommend`, 'active'));
      if (decision.canary) recommendations.push(await recompute(`${info.workflowId}/recommend-challenger`, 'challenger'));
    }
    progress.stage = 'done';
    const result: RetrainResult = {
      trigger,
      snapshotId: snapshot.snapshotId,
      seed,
      candidates,
      baseline: references.baseline,
      champion: references.champion,
      decision,
      recommendations,
      durationMs: Date.now() - started,
    };
    const failed = recommendations.filter((r) => r.status === 'failed');
    upsertMemo({
      summary: [
        decision.summary,
        ...recommendations.map((r) => `${r.slot} recommendations ${r.status}${r.batchId ? ` (${r.batchId})` : ''}${r.reason ? `: ${r.reason}` : ''}`),
      ].join('\n'),
    });
    if (failed.length > 0) {
      // The decision stands (the registry says so); the lists are yesterday's until a recommend run succeeds.
      throw ApplicationFailure.nonRetryable(
        `${decision.summary}; but recomputing recommendations failed: ${failed.map((r) => r.reason).join('; ')} (run \`moovitamix recommend --full\`)`,
        'RecomputeFailed',
        result,
      );
    }
    return result;
  } catch (err) {
    progress.stage = 'failed';
    throw err;
  }
}

async function recompute(workflowId: string, slot: 'active' | 'challenger'): Promise<RetrainRecommendations> {
  try {
    const r = await executeChild(recommend, { workflowId, args: [{ mode: 'full', ...(slot === 'challenger' ? { slot } : {}) }] });
    return { slot, workflowId, status: 'published', batchId: r.batchId };
  } catch (err) {
    log.error('recommendations not recomputed', { slot, error: rootMessage(err) });
    return { slot, workflowId, status: 'failed', reason: rootMessage(err) };
  }
}
