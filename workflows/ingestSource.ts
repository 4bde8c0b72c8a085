import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { LoadStats } from '../activities/ingest/stats.js';
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

/** Ingests one source: probe page 1, then fetch and store every page in ranges, a few at a time. */
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
  const lane = async (): Promise<void> => {
    for (let range = pending.shift(); range; range = pending.shift()) {
      const result = await fetchPageRange({ source: input.source, runId: input.runId, pageSize, ...range });
      for (const key of COUNTS) progress[key] += result[key];
      progress.pagesStored += result.pagesStored;
      if (result.totalAtEnd !== null) totalAtEnd = result.totalAtEnd;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, input.maxConcurrentRanges ?? 4) }, lane));

  progress.state = 'completed';
  const { state: _state, total: _total, pages: _pages, ...counts } = progress;
  return { ...counts, total: probe.total, pages: probe.pages, totalAtEnd };
}
