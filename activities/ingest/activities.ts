import { log } from '@temporalio/activity';
import type { Got } from 'got';
import type { Db } from 'mongodb';
import { getSource } from '../../sources/index.js';
import { fetchPage, pageUrl } from './fetchPage.js';
import { fetchPageRange } from './fetchPageRange.js';
import { mergeSource } from './merge/mergeSource.js';
import type { RetryPolicy } from './requestPage.js';
import type { StagingPool } from './stagingPool.js';
import type { LocalStagedPages } from '../../stores/localStagedPages.js';
import { deleteExpiredPages, deleteStagedPages, STAGING_COLLECTION } from '../../stores/staging.js';
import { readsIdInByIndex, writeLimits } from './storeKind.js';
import type { MergeInput, PageRangeInput, ProbeInput, ProbeResult, StagingInput } from '../../contracts/ingest.js';

export interface IngestDeps {
  db: Db;
  http: Got;
  apiUrl: string;
  retryPolicy: RetryPolicy;
  maxResponseBytes: number;
  /** Staging threads, owned by the caller (the worker closes them); pages are staged inline without. */
  stagingPool?: StagingPool;
  /** Copies of the pages this process stages, for its own merges; owned by the caller. Every page is read from the store without. */
  localPages?: LocalStagedPages;
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

    fetchPageRange: (input: PageRangeInput) => fetchPageRange({ ...deps, ...(deps.stagingPool ? { staging: deps.stagingPool } : {}) }, input),

    mergeSource: (input: MergeInput) => mergeSource(deps, input),

    /**
     * Deletes the run's staged pages once merged (by `_id`, a bulk command at a time),
     * and the pages of failed runs of the source once older than 7 days (kept until then
     * for inspection).
     */
    async dropStaging({ source, runId, pages }: StagingInput): Promise<{ deleted: number; expired: number }> {
      const idIn = await readsIdInByIndex(deps.db, STAGING_COLLECTION);
      const deleted = await deleteStagedPages(deps.db, source, runId, pages, (await writeLimits(deps.db)).bulkStatements, idIn);
      await deps.localPages?.forget(deps.db.databaseName, source, runId);
      const expired = await deleteExpiredPages(deps.db, source, new Date(Date.now() - STAGING_RETENTION_MS));
      log.info('staging deleted', { source, runId, deleted, expired });
      return { deleted, expired };
    },
  };
}
