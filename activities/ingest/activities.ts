import { activityInfo, cancellationSignal, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Got } from 'got';
import type { Db } from 'mongodb';
import { getSource } from '../../sources/index.js';
import { fetchPage, pageUrl } from './fetchPage.js';
import { loadPage } from './loadPage.js';
import { addStats, emptyStats } from './stats.js';
import type { PageRangeInput, PageRangeResult, ProbeInput, ProbeResult, RangeCheckpoint } from './types.js';

export interface IngestDeps {
  db: Db;
  http: Got;
  apiUrl: string;
}

export function createIngestActivities({ db, http, apiUrl }: IngestDeps) {
  return {
    /** Reads page 1 for the size of the source. Writes nothing, so it can run any number of times. */
    async probeSource({ source, pageSize }: ProbeInput): Promise<ProbeResult> {
      const { path } = getSource(source);
      const envelope = await fetchPage(http, pageUrl(apiUrl, path, 1, pageSize));
      return { total: envelope.total, pages: envelope.pages };
    },

    /**
     * Fetches and stores pages firstPage..lastPage, heartbeating after each stored
     * page. A retried attempt resumes after the last page whose heartbeat reached the
     * server (the SDK sends heartbeats at most every ~minute, so a few pages may be
     * fetched again; storing a page again changes nothing). A failure carries, as its
     * details, the counts of the pages stored so far, so the run's statistics stay exact.
     */
    async fetchPageRange(input: PageRangeInput): Promise<PageRangeResult> {
      const source = getSource(input.source);
      const signal = cancellationSignal();
      const checkpoint = activityInfo().heartbeatDetails as RangeCheckpoint | undefined;
      const result: PageRangeResult = checkpoint?.result ?? {
        ...emptyStats(),
        pagesStored: 0,
        totalAtStart: null,
        totalAtEnd: null,
      };
      try {
        for (let page = checkpoint?.nextPage ?? input.firstPage; page <= input.lastPage; page++) {
          // An attempt Temporal has given up on (timed out, cancelled) must stop writing.
          signal.throwIfAborted();
          const envelope = await fetchPage(http, pageUrl(apiUrl, source.path, page, input.pageSize), signal);
          const stats = await loadPage({ db, source, runId: input.runId, page, now: new Date() }, envelope.items);
          addStats(result, stats);
          result.pagesStored++;
          result.totalAtStart ??= envelope.total;
          result.totalAtEnd = envelope.total;
          heartbeat({ nextPage: page + 1, result } satisfies RangeCheckpoint);
        }
      } catch (err) {
        if (signal.aborted) throw err;
        throw withPartialResult(err, result);
      }
      return result;
    },
  };
}

/** The same failure (message, type, retryability, retry delay), with the range's partial counts as details. */
function withPartialResult(err: unknown, partial: PageRangeResult): ApplicationFailure {
  if (err instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.type ?? undefined,
      nonRetryable: err.nonRetryable ?? false,
      nextRetryDelay: err.nextRetryDelay ?? undefined,
      details: [partial],
    });
  }
  const e = err as Error;
  return ApplicationFailure.create({ message: e.message, type: e.name, nonRetryable: false, details: [partial] });
}
