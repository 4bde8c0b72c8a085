import { ApplicationFailure, executeChild, log, proxyActivities, setHandler, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RunReport, SourceSummary } from '../activities/runs/types.js';
import type { SourceName } from '../sources/index.js';
import { zeroFetchStats, zeroMergeStats } from './counts.js';
import { failureDetails, rootMessage } from './failures.js';
import { describe, ingestSource } from './ingestSource.js';
import { isCalendarDate } from './pagePlan.js';
import { pipelineProgressQuery } from './queries.js';
import type { DailyPipelineInput, DailyPipelineResult, IngestSourceResult, PipelineProgress } from './types.js';

// Workflows may not import the source registry (it carries valibot schemas), so the
// names are listed here; the type below fails to compile if a source is missing.
const ALL_SOURCES = ['tracks', 'users', 'listen_history'] as const satisfies readonly SourceName[];
type _EverySourceListed = Exclude<SourceName, (typeof ALL_SOURCES)[number]> extends never ? true : never;
const _everySourceListed: _EverySourceListed = true;

const { recordRun } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
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
  const progress: PipelineProgress = { workflowId, runId, date, sources: {} };
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
          args: [{ source, runId, pageSize: input.pageSize, concurrency: input.concurrency, maxRanges: input.maxRanges, heartbeatTimeout: input.heartbeatTimeout }],
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
  await record(failed.length > 0 ? 'FAILED' : 'COMPLETED', ordered);
  upsertMemo({
    summary: sources.map((s) => (ordered[s]?.status === 'FAILED' ? `${s}: FAILED: ${ordered[s]?.error}` : describe(s, ordered[s] as IngestSourceResult))).join('\n'),
  });
  if (failed.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `ingest failed for ${failed.map((s) => `${s} (${ordered[s]?.error})`).join('; ')}`,
      'PipelineFailed',
      { sources: ordered },
    );
  }
  return { workflowId, runId, date, status: 'COMPLETED', durationMs: Date.now() - startedAt, sources: ordered };
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
    ...zeroFetchStats(),
    ...zeroMergeStats(),
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
