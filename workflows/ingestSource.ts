import { ApplicationFailure, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { PageRangeResult } from '../activities/ingest/types.js';
import type { LoadStats } from '../activities/ingest/stats.js';
import { failureDetails, rootMessage } from './failures.js';
import { planPageRanges } from './pagePlan.js';
import { ingestProgressQuery } from './queries.js';
import type { IngestProgress, IngestSourceInput, IngestSourceResult } from './types.js';

// Probing reads one page and writes nothing: retry it briskly.
const { probeSource } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

// A range fetches and stores several pages. The heartbeat after each page is its
// checkpoint: a worker that dies is noticed within heartbeatTimeout, and the next
// attempt resumes after the last stored page.
const { fetchPageRange } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

const COUNTS: readonly (keyof LoadStats)[] = ['fetched', 'valid', 'invalid', 'inserted', 'updated', 'unchanged', 'duplicates'];

/**
 * Ingests one source: probe page 1, then fetch and store every page in ranges, a few
 * at a time. If a range fails for good, no new range starts and those in flight
 * finish; the workflow then fails with type IngestFailed, its details holding the
 * counts of every page stored.
 */
export async function ingestSource(input: IngestSourceInput): Promise<IngestSourceResult> {
  const pageSize = input.pageSize ?? 100;
  const progress: IngestProgress = {
    source: input.source,
    state: 'probing',
    total: null,
    pages: null,
    pagesStored: 0,
    fetched: 0,
    valid: 0,
    invalid: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    duplicates: 0,
  };
  setHandler(ingestProgressQuery, () => progress);

  const probe = await probeSource({ source: input.source, pageSize });
  progress.total = probe.total;
  progress.pages = probe.pages;
  progress.state = 'fetching';

  const pending = planPageRanges(probe.pages, input.pagesPerRange ?? 5);
  let totalAtEnd: number | null = null;
  let failure: unknown;
  const count = (result: PageRangeResult): void => {
    for (const key of COUNTS) progress[key] += result[key];
    progress.pagesStored += result.pagesStored;
    if (result.totalAtEnd !== null) totalAtEnd = result.totalAtEnd;
  };
  const lane = async (): Promise<void> => {
    for (let range = pending.shift(); range && failure === undefined; range = pending.shift()) {
      try {
        count(await fetchPageRange({ source: input.source, runId: input.runId, pageSize, ...range }));
      } catch (err) {
        const partial = failureDetails<PageRangeResult>(err);
        if (partial) count(partial);
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.maxConcurrentRanges ?? 4) }, lane));

  const { state: _state, total: _total, pages: _pages, ...counts } = progress;
  const result: IngestSourceResult = { ...counts, total: probe.total, pages: probe.pages, totalAtEnd };
  if (failure !== undefined) {
    progress.state = 'failed';
    throw ApplicationFailure.create({
      message: `${input.source}: ${rootMessage(failure)}`,
      type: 'IngestFailed',
      nonRetryable: true,
      details: [result],
      cause: failure as Error,
    });
  }
  progress.state = 'completed';
  return result;
}
