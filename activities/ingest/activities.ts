import { activityInfo, heartbeat } from '@temporalio/activity';
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
     * page. A retried attempt resumes after the last page its predecessor reported,
     * so at most the page in flight is fetched again (and storing it again is a no-op).
     */
    async fetchPageRange(input: PageRangeInput): Promise<PageRangeResult> {
      const source = getSource(input.source);
      const checkpoint = activityInfo().heartbeatDetails as RangeCheckpoint | undefined;
      const result: PageRangeResult = checkpoint?.result ?? {
        ...emptyStats(),
        pagesStored: 0,
        totalAtStart: null,
        totalAtEnd: null,
      };
      for (let page = checkpoint?.nextPage ?? input.firstPage; page <= input.lastPage; page++) {
        const envelope = await fetchPage(http, pageUrl(apiUrl, source.path, page, input.pageSize));
        const stats = await loadPage({ db, source, runId: input.runId, page, now: new Date() }, envelope.items);
        addStats(result, stats);
        result.pagesStored++;
        result.totalAtStart ??= envelope.total;
        result.totalAtEnd = envelope.total;
        heartbeat({ nextPage: page + 1, result } satisfies RangeCheckpoint);
      }
      return result;
    },
  };
}
