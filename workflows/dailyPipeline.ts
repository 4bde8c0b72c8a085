import { ApplicationFailure, executeChild, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RunReport, SourceSummary } from '../activities/runs/types.js';
import type { SourceName } from '../sources/index.js';
import { failureDetails, rootMessage } from './failures.js';
import { ingestSource } from './ingestSource.js';
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
 * The daily run: one ingestSource child workflow per endpoint, all at once. Every
 * source runs to its end even if another fails; the run fails if any source did.
 */
export async function dailyPipeline(input: DailyPipelineInput): Promise<DailyPipelineResult> {
  if (!isCalendarDate(input.date)) {
    throw ApplicationFailure.nonRetryable(`date must be YYYY-MM-DD naming a real day, got ${JSON.stringify(input.date)}`, 'InvalidInput');
  }
  const sources = input.sources ?? [...ALL_SOURCES];
  const unknown = sources.filter((s) => !(ALL_SOURCES as readonly string[]).includes(s));
  if (unknown.length > 0 || sources.length === 0) {
    throw ApplicationFailure.nonRetryable(`sources must be some of ${ALL_SOURCES.join(', ')}; got ${JSON.stringify(sources)}`, 'InvalidInput');
  }

  const { workflowId, runId } = workflowInfo();
  const startedAt = Date.now();
  const progress: PipelineProgress = { workflowId, runId, date: input.date, sources: {} };
  for (const source of sources) progress.sources[source] = { state: 'pending', workflowId: `${workflowId}/${source}` };
  setHandler(pipelineProgressQuery, () => progress);

  const record = (status: RunReport['status'], summaries: RunReport['sources']): Promise<void> =>
    recordRun({
      runId,
      workflowId,
      date: input.date,
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
          args: [
            {
              source,
              runId,
              pageSize: input.pageSize,
              pagesPerRange: input.pagesPerRange,
              maxConcurrentRanges: input.maxConcurrentRanges,
            },
          ],
        });
        summaries[source] = { status: 'COMPLETED', ...countsOf(result) };
        entry.state = 'completed';
      } catch (err) {
        // What the source stored before it failed still counts; a failed probe stored nothing.
        const partial = failureDetails<IngestSourceResult>(err, 'IngestFailed');
        summaries[source] = { status: 'FAILED', ...countsOf(partial), error: rootMessage(err) };
        entry.state = 'failed';
      }
      entry.summary = summaries[source];
    }),
  );

  // In the order the sources were asked for, not the order they finished in.
  const ordered: Partial<Record<SourceName, SourceSummary>> = {};
  for (const source of sources) ordered[source] = summaries[source];
  const failed = sources.filter((s) => ordered[s]?.status === 'FAILED');
  await record(failed.length > 0 ? 'FAILED' : 'COMPLETED', ordered);
  if (failed.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `ingest failed for ${failed.map((s) => `${s} (${ordered[s]?.error})`).join('; ')}`,
      'PipelineFailed',
      { sources: ordered },
    );
  }
  return { workflowId, runId, date: input.date, status: 'COMPLETED', durationMs: Date.now() - startedAt, sources: ordered };
}

/** The counts of a source's summary, from its ingest result (none: nothing was stored). */
function countsOf(result: IngestSourceResult | undefined): Omit<SourceSummary, 'status' | 'error'> {
  if (!result) return { fetched: 0, valid: 0, invalid: 0, inserted: 0, updated: 0, unchanged: 0, duplicates: 0, total: null, pages: null };
  const { source: _source, pagesStored: _pagesStored, totalAtEnd: _totalAtEnd, ...counts } = result;
  return counts;
}
