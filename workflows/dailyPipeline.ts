import {
  ApplicationFailure,
  ParentClosePolicy,
  WorkflowIdReusePolicy,
  executeChild,
  log,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CheckSourceResult, RunHealth } from '../contracts/health.js';
import type { Activities } from '../activities/index.js';
import type { RunReport } from '../contracts/runs.js';
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
import type { SourceSummary } from '../contracts/ingest.js';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTES_PATCH } from '../contracts/searchAttributes.js';

// Workflows may not import the source registry (it carries valibot schemas), so the
// names are listed here; the type below fails to compile if a source is missing.
const ALL_SOURCES = ['tracks', 'users', 'listen_history'] as const satisfies readonly SourceName[];
type _EverySourceListed = Exclude<SourceName, (typeof ALL_SOURCES)[number]> extends never ? true : never;
const _everySourceListed: _EverySourceListed = true;

/** The run's identity and its progress, which every step reports to. */
interface Run {
  workflowId: string;
  runId: string;
  date: string;
  startedAt: number;
  sources: SourceName[];
  progress: PipelineProgress;
  /** Whether this run sets search attributes (runs started before they existed do not). */
  searchable: boolean;
}

/**
 * The daily run, as its steps: ingest every source (one ingestSource child each, all at
 * once, each with its own retries and run to its end even if another fails), check them,
 * record the run's health, recommend, check drift, alert. Every step after the ingest
 * is recorded on the run and never fails it by itself; the run fails if a source did or
 * the recommendations did.
 */
export async function dailyPipeline(input: DailyPipelineInput = {}): Promise<DailyPipelineResult> {
  const run = begin(input);
  await recordReport(run, 'RUNNING', {});
  const sources = await ingestAll(run, input);
  const failed = run.sources.filter((s) => sources[s]?.status === 'FAILED');
  const checks = await checkAll(run, sources);
  await recordReport(run, failed.length > 0 ? 'FAILED' : 'COMPLETED', sources);
  const ingestLines = run.sources.map((s) =>
    sources[s]?.status === 'FAILED' ? `${s}: FAILED: ${sources[s]?.error}` : describeIngest(s, sources[s] as IngestSourceResult),
  );
  upsertMemo({ summary: ingestLines.join('\n') });

  const health = await recordHealth(run, checks, failed);
  const recommendations = input.recommend !== false ? await recommendStep(run, health, failed) : undefined;
  const drift = input.drift !== false && failed.length === 0 && health.downstream.allowed ? await driftStep(run) : undefined;
  const alerts = await alertStep(run);
  run.progress.health = health;
  upsertMemo({
    summary: [
      ...ingestLines,
      describeHealth(health, alerts),
      ...(recommendations ? [describeRecommendations(recommendations)] : []),
      ...(drift ? [describeDrift(drift)] : []),
    ].join('\n'),
    health: health.status,
    downstreamAllowed: health.downstream.allowed,
    ...(recommendations ? { recommendations: recommendations.status } : {}),
  });
  if (run.searchable) {
    const model = recommendations?.result?.model;
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.status, value: failed.length > 0 || recommendations?.status === 'failed' ? 'failed' : 'completed' },
      { key: SEARCH_ATTRIBUTES.health, value: health.status },
      { key: SEARCH_ATTRIBUTES.published, value: recommendations?.status === 'published' },
      ...(model ? [{ key: SEARCH_ATTRIBUTES.model, value: model }] : []),
    ]);
  }
  await deliverStep(run);
  run.progress.stage = 'done';

  if (failed.length > 0) {
    throw ApplicationFailure.nonRetryable(`ingest failed for ${failed.map((s) => `${s} (${sources[s]?.error})`).join('; ')}`, 'PipelineFailed', {
      sources,
      health,
      ...(recommendations ? { recommendations } : {}),
    });
  }
  if (recommendations?.status === 'failed') {
    throw ApplicationFailure.nonRetryable(`recommendations failed: ${recommendations.reason}`, 'PipelineFailed', { sources, health, recommendations });
  }
  return {
    workflowId: run.workflowId,
    runId: run.runId,
    date: run.date,
    status: 'COMPLETED',
    durationMs: Date.now() - run.startedAt,
    sources,
    health,
    ...(alerts ? { alerts } : {}),
    ...(recommendations ? { recommendations } : {}),
    ...(drift ? { drift } : {}),
  };
}

/** Validates the input, answers the progress query and says in the memo what runs. */
function begin(input: DailyPipelineInput): Run {
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
  const progress: PipelineProgress = { workflowId, runId, date, stage: 'ingesting', sources: {} };
  for (const source of sources) progress.sources[source] = { state: 'pending', workflowId: `${workflowId}/${source}` };
  setHandler(pipelineProgressQuery, () => progress);
  upsertMemo({ date, summary: `running: ${sources.join(', ')}` });
  const searchable = patched(SEARCH_ATTRIBUTES_PATCH);
  if (searchable) {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.runDate, value: new Date(`${date}T00:00:00Z`) },
      { key: SEARCH_ATTRIBUTES.status, value: 'running' },
    ]);
  }
  return { workflowId, runId, date, startedAt: Date.now(), sources, progress, searchable };
}

const { recordRun } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

/** The run's record in pipeline_runs: when it starts, and once its sources are ingested. */
function recordReport(run: Run, status: RunReport['status'], sources: RunReport['sources']): Promise<void> {
  return recordRun({
    workflowId: run.workflowId,
    runId: run.runId,
    date: run.date,
    status,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: status === 'RUNNING' ? null : new Date().toISOString(),
    durationMs: status === 'RUNNING' ? null : Date.now() - run.startedAt,
    sources,
  });
}

/** One ingestSource child per source, all at once; what each did, in the order the sources were asked for. */
async function ingestAll(run: Run, input: DailyPipelineInput): Promise<Partial<Record<SourceName, SourceSummary>>> {
  const summaries: Partial<Record<SourceName, SourceSummary>> = {};
  await Promise.all(
    run.sources.map(async (source) => {
      const entry = run.progress.sources[source]!;
      entry.state = 'running';
      try {
        const result = await executeChild(ingestSource, {
          workflowId: entry.workflowId,
          args: [{ source, runId: run.runId, ...ingestOptions(input) }],
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
  const ordered: Partial<Record<SourceName, SourceSummary>> = {};
  for (const source of run.sources) ordered[source] = summaries[source];
  return ordered;
}

// Each source's checks read what its merge kept (profiles, key indexes): seconds, minutes at most.
const { checkSource } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Every source's checks at once; checks that cannot run count as a failing check of their source, not a failed run. */
function checkAll(run: Run, sources: Partial<Record<SourceName, SourceSummary>>): Promise<CheckSourceResult[]> {
  run.progress.stage = 'checking';
  return Promise.all(
    run.sources.map(async (source) => {
      try {
        return await checkSource({ workflowId: run.workflowId, runId: run.runId, date: run.date, source, summary: sources[source] as SourceSummary });
      } catch (err) {
        log.error('checks could not run', { source, error: rootMessage(err) });
        const failed: CheckSourceResult = {
          source,
          status: 'fail',
          counts: { pass: 0, warn: 0, fail: 1 },
          blocking: true,
          failing: [`checks could not run: ${rootMessage(err)}`],
        };
        return failed;
      }
    }),
  );
}

const { summarizeRun, evaluateAlerts, recordRecommendations, recordDrift } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/** The run's health and KPIs, recorded; health that cannot be recorded is unknown, and stops the steps after it. */
async function recordHealth(run: Run, checks: CheckSourceResult[], failed: SourceName[]): Promise<RunHealth> {
  run.progress.stage = 'alerting';
  try {
    return await summarizeRun({
      workflowId: run.workflowId,
      runId: run.runId,
      date: run.date,
      startedAt: new Date(run.startedAt).toISOString(),
      checks,
      failedSources: failed,
    });
  } catch (err) {
    log.error('health could not be recorded', { error: rootMessage(err) });
    const counts = { pass: 0, warn: 0, fail: 0 };
    for (const c of checks) {
      counts.pass += c.counts.pass;
      counts.warn += c.counts.warn;
      counts.fail += c.counts.fail;
    }
    return { status: 'fail', counts, sources: {}, downstream: { allowed: false, reason: `health could not be recorded: ${rootMessage(err)}` } };
  }
}

/**
 * After a healthy ingest, the recommend child computes and publishes the lists that
 * changed. A stopped gate skips it; a failure keeps the active batch. Either way it is
 * recorded on the run.
 */
async function recommendStep(run: Run, health: RunHealth, failed: SourceName[]): Promise<PipelineRecommendations> {
  run.progress.stage = 'recommending';
  const childId = `${run.workflowId}/recommend`;
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
    await recordRecommendations({ workflowId: run.workflowId, recommendations: outcome });
  } catch (err) {
    log.warn('recommendation outcome not recorded', { error: rootMessage(err) });
  }
  run.progress.recommendations = outcome;
  run.progress.stage = 'alerting';
  return outcome;
}

// Drift reads today's listens into a snapshot and scores the champion on a sample.
const { checkDrift } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 },
});

/**
 * Compares today's listens with the champion's training data; past a threshold, starts a
 * retraining (`<run>/retrain`) that outlives this run. The outcome is recorded on the run;
 * a failed check never fails it: the weekly retraining still comes.
 */
async function driftStep(run: Run): Promise<PipelineDrift> {
  run.progress.stage = 'checking drift';
  const drift = await measureDrift(run.workflowId);
  try {
    await recordDrift({ workflowId: run.workflowId, drift });
  } catch (err) {
    log.warn('drift outcome not recorded', { error: rootMessage(err) });
  }
  run.progress.stage = 'alerting';
  return drift;
}

async function measureDrift(workflowId: string): Promise<PipelineDrift> {
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

/** The alert rules over the finished run; alerts that cannot be evaluated are logged, not fatal. */
async function alertStep(run: Run): Promise<AlertOutcome | undefined> {
  try {
    return await evaluateAlerts({ workflowId: run.workflowId });
  } catch (err) {
    log.error('alerts could not be evaluated', { error: rootMessage(err) });
    return undefined;
  }
}

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

/** New alerts, then the daily summary; a delivery that fails for good is logged and recorded by its activity. */
async function deliverStep(run: Run): Promise<void> {
  for (const [what, send] of [
    ['alerts', () => deliverAlerts({ workflowId: run.workflowId, runId: run.runId })],
    ['daily summary', () => deliverSummary({ workflowId: run.workflowId })],
  ] as const) {
    try {
      await send();
    } catch (err) {
      log.warn(`${what} not delivered`, { error: rootMessage(err) });
    }
  }
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
