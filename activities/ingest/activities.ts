import { log } from '@temporalio/activity';
import type { Got } from 'got';
import type { Db } from 'mongodb';
import { getSource } from '../../sources/index.js';
import { fetchPage, pageUrl } from './fetchPage.js';
import { fetchPageRange } from './fetchPageRange.js';
import { mergeSource } from './merge/mergeSource.js';
import type { RetryPolicy } from './requestPage.js';
import { stagingCollectionName, type StagedPage } from './staging.js';
import type { MergeInput, PageRangeInput, ProbeInput, ProbeResult, StagingInput } from './types.js';

export interface IngestDeps {
  db: Db;
  http: Got;
  apiUrl: string;
  retryPolicy: RetryPolicy;
  maxResponseBytes: number;
}

/** Staging left behind by failed runs is dropped once this old. */
const STAGING_RETENTION_MS = 7 * 24 * 3600_000;

export function createIngestActivities(deps: IngestDeps) {
  return {
    /**
     * Reads a page of the source for its `total`. Writes nothing, so it can run any
     * number of times; it asks for one record when only the total matters.
     */
    async probeSource({ source, pageSize }: ProbeInput): Promise<ProbeResult> {
      const { path } = getSource(source);
      const envelope = await fetchPage(deps.http, pageUrl(deps.apiUrl, path, 1, pageSize), undefined, deps.maxResponseBytes);
      return { total: envelope.total, pages: Math.ceil(envelope.total / pageSize) };
    },

    fetchPageRange: (input: PageRangeInput) => fetchPageRange(deps, input),

    mergeSource: (input: MergeInput) => mergeSource(deps, input),

    /**
     * Drops the run's staging collection once it is merged, and the staging of failed
     * runs of the source once older than 7 days (kept until then for inspection).
     */
    async dropStaging({ source, runId }: StagingInput): Promise<{ dropped: string[] }> {
      const own = stagingCollectionName(source, runId);
      const prefix = `staging_${source}_`;
      const dropped: string[] = [];
      const names = (await deps.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => n.startsWith(prefix));
      for (const name of names) {
        if (name !== own) {
          const newest = await deps.db.collection<StagedPage>(name).findOne({}, { projection: { fetched_at: 1 } });
          if (newest && Date.now() - newest.fetched_at.getTime() < STAGING_RETENTION_MS) continue;
        }
        if (await deps.db.collection(name).drop().catch(() => false)) dropped.push(name);
      }
      if (dropped.length > 0) log.info('staging dropped', { source, collections: dropped });
      return { dropped };
    },
  };
}
