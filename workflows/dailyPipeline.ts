import {
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  startChild,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { CheckSourceResult, RunHealth } from '../contracts/health.js';
import type { Activities } from '../activities/index.js';
import type { RunReport, SourceSummary } from '../contracts/runs.js';
import { failureDetails, rootMessage } from './failures.js';
import { ingestSource } from './ingestSource.js';
import { describeDrift, describeHealth, describeIngest, describeRecommendations } from './memo.js';
import { isCalendarDate } from './pagePlan.js';
import { pipelineProgressQuery } from './queries.js';
import { recommend } from './recommend.js';
import { retrain } from './retrain.js';
import {
  INGEST_OPTIONS,
  type DailyPipelineInput,
  type DailyPipelineResult,
  type IngestOptions,
  type IngestSourceResult,
  type PipelineProgress,
} from '../contracts/workflows.js';
import type { PipelineDrift, PipelineRecommendations } from '../contracts/pipeline.js';
import { emptyFetchStats, emptyMergeStats } from '../contracts/ingest.js';
import type { SourceName } from '../contracts/names.js';
import type { AlertOutcome } from '../contracts/health.js';

// Workflows may not import the source registry (it carries valibot schemas), so the
// names are listed here; the type below fails to compile if a source is missing.
const ALL_SOURCES = ['tracks', 'users', 'listen_history'] as const satisfies readonly SourceName[];
type _EverySourceListed = Exclude<SourceName, (typeof ALL_SOURCES)[number]> extends never ? true : never;
const _everySourceListed: _EverySourceListed = true;

const { recordRun } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

// Each source's checks read its whole raw layer: minutes at millions of records.
const { checkSource } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

const { summarizeRun, evaluateAlerts, recordRecommendations, recordDrift } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// Drift reads today's listens into a snapshot and scores the champion on a sample.
const { checkDrift } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 },
});

// A webhook that is down is retried a few times, then given up on: delivery never fails a run.
const { deliverAlerts, deliverSummary } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: ['WebhookRejected', 'NoRun'],
  },
});

/**
 * The daily run: one ingestSource child workflow per endpoint, all at once. Each source
 * has its own retries and runs to its end even if another fails; the run records what
 * every source did and fails if any source did.
 */
export async function dailyPipeline(input: DailyPipelineInput = {}): Promise<DailyPipelineResult> {
  const date = input.date ?? logicalDate();
  if (!isCalendarDate(date)) {
    throw ApplicationFailure.nonRetryable(`date must be YYYY-MM-DD naming a real day, got ${JSON.stringify(date)}`, 'InvalidInput');
  }
  const sources = input.sources ?? [...ALL_SOURCES];
  const unknown = sources.filter((s) => !(ALL_SOURCES as readonly string[]).includes(s));
  if (unknown.length > 0 || sources.length === 0) {
    throw ApplicationFailure.nonRetryable(`sources must be some of ${ALL_SOURCES.join(', ')}; got ${JSON.stringify(sources)}`, 'InvalidInput');
  }

  const { workflowId, runId } = workflowInfo();
  const startedAt = Date.now();
  const progress: PipelineProgress = { workflowId, runId, date, stage: 'ingesting', sources: {} };
  for (const source of sources) progress.sources[source] = { state: 'pending', workflowId: `${workflowId}/${source}` };
  setHandler(pipelineProgressQuery, () => progress);
  upsertMemo({ date, summary: `running: ${sources.join(', ')}` });

  const record = (status: RunReport['status'], summaries: RunReport['sources']): Promise<void> =>
    recordRun({
      workflowId,
      runId,
      date,
      status,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: status === 'RUNNING' ? null : new Date().toISOString(),
      durationMs: status === 'RUNNING' ? null : Date.now() - startedAt,
      sources: summaries,
    });
  await record('RUNNING', {});

  const summaries: Partial<Record<SourceName, SourceSummary>> = {};
  await Promise.all(
    sources.map(async (source) => {
      const entry = progress.sources[source]!;
      entry.state = 'running';
      try {
        const result = await executeChild(ingestSource, {
          workflowId: entry.workflowId,
          args: [{ source, runId, ...ingestOptions(input) }],
        });
        summaries[source] = { status: 'COMPLETED', ...result };
        entry.state = 'completed';
      } catch (err) {
        // What the source fetched before it failed still counts; a failed probe fetched nothing.
        const partial = failureDetails<IngestSourceResult>(err, 'IngestFailed');
        summaries[source] = { status: 'FAILED', ...(partial ?? nothingDone()), error: rootMessage(err) };
        entry.state = 'failed';
        log.error('source failed', { source, error: rootMessage(err) });
      }
      entry.summary = summaries[source];
    }),
  );

  // In the order the sources were asked for, not the order they finished in.
  const ordered: Partial<Record<SourceName, SourceSummary>> = {};
  for (const source of sources) ordered[source] = summaries[source];
  const failed = sources.filter((s) => ordered[s]?.status === 'FAILED');

  progress.stage = 'checking';
  const checks = await Promise.all(sources.map((source) => checkOne(workflowId, runId, date, source, ordered[source] as SourceSummary)));
  await record(failed.length > 0 ? 'FAILED' : 'COMPLETED', ordered);
  const ingestLines = sources.map((s) =>
    ordered[s]?.status === 'FAILED' ? `${s}: FAILED: ${ordered[s]?.error}` : describeIngest(s, ordered[s] as IngestSourceResult),
  );
  upsertMemo({ summary: ingestLines.join('\n') });

  let health: RunHealth;
  let alerts: AlertOutcome | undefined;
  let recommendations: PipelineRecommendations | undefined;
  let drift: PipelineDrift | undefined;
  progress.stage = 'alerting';
  try {
    health = await summarizeRun({ workflowId, runId, date, startedAt: new Date(startedAt).toISOString(), checks, failedSources: failed });
  } catch (err) {
    // Health that cannot be recorded is unknown: downstream steps must not start on it.
    log.error('health could not be recorded', { error: rootMessage(err) });
    health = unrecordedHealth(checks, rootMessage(err));
  }
  if (input.recommend !== false) {
    progress.stage = 'recommending';
    recommendations = await recommendStep(workflowId, health, failed);
    progress.recommendations = recommendations;
    progress.stage = 'alerting';
  }
  if (input.drift !== false && failed.length === 0 && health.downstream.allowed) {
    progress.stage = 'checking drift';
    drift = await driftStep(workflowId);
    try {
      await recordDrift({ workflowId, drift });
    } catch (err) {
      log.warn('drift outcome not recorded', { error: rootMessage(err) });
    }
    progress.stage = 'alerting';
  }
  try {
    alerts = await evaluateAlerts({ workflowId });
  } catch (err) {
    log.error('alerts could not be evaluated', { error: rootMessage(err) });
  }
  progress.health = health;
  const lines = [
    ...ingestLines,
    describeHealth(health, alerts),
    ...(recommendations ? [describeRecommendations(recommendations)] : []),
    ...(drift ? [describeDrift(drift)] : []),
  ];
  upsertMemo({
    summary: lines.join('\n'),
    health: health.status,
    downstreamAllowed: health.downstream.allowed,
    ...(recommendations ? { recommendations: recommendations.status } : {}),
  });
  await deliver('alerts', () => deliverAlerts({ workflowId, runId }));
  await deliver('daily summary', () => deliverSummary({ workflowId }));
  progress.stage = 'done';
  if (failed.length > 0) {
    throw ApplicationFailure.nonRetryable(`ingest failed for ${failed.map((s) => `${s} (${ordered[s]?.error})`).join('; ')}`, 'PipelineFailed', {
      sources: ordered,
      health,
      ...(recommendations ? { recommendations } : {}),
    });
  }
  if (recommendations?.status === 'failed') {
    throw ApplicationFailure.nonRetryable(`recommendations failed: ${recommendations.reason}`, 'PipelineFailed', { sources: ordered, health, recommendations });
  }
  return {
    workflowId,
    runId,
    date,
    status: 'COMPLETED',
    durationMs: Date.now() - startedAt,
    sources: ordered,
    health,
    ...(alerts ? { alerts } : {}),
    ...(recommendations ? { recommendations } : {}),
    ...(drift ? { drift } : {}),
  };
}

/**
 * Compares today's listens with the champion's training data; past a threshold, starts a
 * retraining (`<run>/retrain`) that outlives this run. A failed check is logged and
 * recorded, never fails the run: the weekly retraining still comes.
 */
async function driftStep(workflowId: string): Promise<PipelineDrift> {
  try {
    const d = await checkDrift();
    const figures = { psiTracks: d.psiTracks, psiGenres: d.psiGenres, championNdcgThen: d.championNdcgThen, championNdcgNow: d.championNdcgNow };
    if (d.skipped) return { status: 'skipped', reasons: [d.skipped] };
    if (!d.drifted) return { status: 'stable', reasons: [], figures };
    const retrainId = `${workflowId}/retrain`;
    try {
      await startChild(retrain, {
        workflowId: retrainId,
        args: [{ trigger: 'drift', reason: d.reasons.join('; ') }],
        // The retraining runs on after this run completes.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (err) {
      // A re-run of the same date: its drift retraining was started already, once is enough.
      if ((err as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw err;
      return { status: 'drifted', reasons: [...d.reasons, `retraining ${retrainId} was started already`], figures, retrainWorkflowId: retrainId };
    }
    return { status: 'drifted', reasons: d.reasons, figures, retrainWorkflowId: retrainId };
  } catch (err) {
    log.error('drift not checked', { error: rootMessage(err) });
    return { status: 'failed', reasons: [rootMessage(err)] };
  }
}

/**
 * After a healthy ingest, the recommend child computes and publishes every user's lists.
 * A stopped gate skips it; a failure keeps the active batch. Either way it is recorded
 * on the run, and the run goes on to alerting.
 */
async function recommendStep(workflowId: string, health: RunHealth, failed: SourceName[]): Promise<PipelineRecommendations> {
  const childId = `${workflowId}/recommend`;
  let outcome: PipelineRecommendations;
  if (failed.length > 0) outcome = { status: 'skipped', workflowId: childId, reason: `ingest failed for ${failed.join(', ')}` };
  else if (!health.downstream.allowed)
    outcome = { status: 'skipped', workflowId: childId, reason: health.downstream.reason ?? 'the health gate stopped downstream steps' };
  else {
    try {
      const result = await executeChild(recommend, { workflowId: childId, args: [{ mode: 'incremental' }] });
      outcome = { status: result.status === 'unchanged' ? 'unchanged' : 'published', workflowId: childId, result };
    } catch (err) {
      log.error('recommendations failed', { error: rootMessage(err) });
      outcome = { status: 'failed', workflowId: childId, reason: rootMessage(err) };
    }
  }
  try {
    await recordRecommendations({ workflowId, recommendations: outcome });
  } catch (err) {
    log.warn('recommendation outcome not recorded', { error: rootMessage(err) });
  }
  return outcome;
}

/** One source's checks; checks that cannot run count as a failing check, not a failed run. */
async function checkOne(workflowId: string, runId: string, date: string, source: SourceName, summary: SourceSummary): Promise<CheckSourceResult> {
  try {
    return await checkSource({ workflowId, runId, date, source, summary });
  } catch (err) {
    log.error('checks could not run', { source, error: rootMessage(err) });
    return { source, status: 'fail', counts: { pass: 0, warn: 0, fail: 1 }, blocking: true, failing: [`checks could not run: ${rootMessage(err)}`] };
  }
}

/** A delivery that fails for good is logged and recorded by the activity; the run goes on. */
async function deliver(what: string, send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (err) {
    log.warn(`${what} not delivered`, { error: rootMessage(err) });
  }
}

function unrecordedHealth(checks: CheckSourceResult[], error: string): RunHealth {
  const counts = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) {
    counts.pass += c.counts.pass;
    counts.warn += c.counts.warn;
    counts.fail += c.counts.fail;
  }
  return { status: 'fail', counts, sources: {}, downstream: { allowed: false, reason: `health could not be recorded: ${error}` } };
}

/** The run's options for its sources, those it was given. */
function ingestOptions(input: DailyPipelineInput): IngestOptions {
  return Object.fromEntries(INGEST_OPTIONS.filter((name) => input[name] !== undefined).map((name) => [name, input[name]]));
}

/** A scheduled run's date is the schedule's; any other run's, the day it started (UTC). */
function logicalDate(): string {
  const info = workflowInfo();
  const scheduled = info.typedSearchAttributes.getAll().find((pair) => pair.key.name === 'TemporalScheduledStartTime')?.value;
  const at = scheduled instanceof Date ? scheduled : info.startTime;
  return at.toISOString().slice(0, 10);
}

/** The summary of a source that failed before fetching anything. */
function nothingDone(): IngestSourceResult {
  return {
    ...emptyFetchStats(),
    ...emptyMergeStats(),
    totalAtStart: null,
    totalAtEnd: null,
    pagesPlanned: null,
    complete: false,
    incompleteReason: 'the source failed before fetching',
    merged: false,
    fetchMs: 0,
    mergeMs: 0,
    durationMs: 0,
    recordsPerSecond: 0,
    requestsPerSecond: 0,
  };
}
