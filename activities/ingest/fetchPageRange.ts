import { activityInfo, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Got } from 'got';
import { Binary, type Db } from 'mongodb';
import { getSource } from '../../sources/index.js';
import { pageUrl } from './fetchPage.js';
import { insertIgnoringDuplicates, quarantineCollection, type QuarantineDocument } from '../../stores/quarantine.js';
import { requestPageAs, type RetryPolicy } from './requestPage.js';
import { stageBody, type StagingPool } from './stagingPool.js';
import type { StagedText } from './stagePage.js';
import { findStagedPage, insertStagedPages, type StagedPage } from '../../stores/staging.js';
import type { LocalStagedPages } from '../../stores/localStagedPages.js';
import { rangeDigest } from '../../stores/stagedRecords.js';
import { addPageStats, addRequestStats } from './stats.js';
import { emptyDrift, emptyRequestStats, type RetryReason, emptyFetchStats, type FetchStats, type RequestStats } from '../../contracts/ingest.js';
import { bodyDigest } from './bodyDigest.js';
import { keptBodies } from './merge/repeatPages.js';
import type { PageRangeInput } from '../../contracts/ingest.js';

/** A range's figures, and the digest of what its pages staged as stored (absent when unknown). */
export interface RangeFetched extends FetchStats {
  digest?: string;
  /** No page was staged: each served the body the last clean merge staged (input.skipRepeated). */
  unstaged?: true;
}

export interface FetchDeps {
  db: Db;
  http: Got;
  apiUrl: string;
  retryPolicy: RetryPolicy;
  maxResponseBytes: number;
  /** Threads that read, validate and stage page bodies; inline when not given. */
  staging?: StagingPool;
  /** Where copies of the pages this process staged are kept for a merge in the same process. */
  localPages?: LocalStagedPages;
}

/**
 * Staged pages written per command: a store commits each command once (FerretDB on SQLite
 * serialises its commits), so eight pages a command cost a third of eight commands.
 */
export const STAGE_BATCH = 8;

/**
 * Fetches, validates and stages pages firstPage..lastPage, one after another, writing
 * them STAGE_BATCH at a time. The staged page is the checkpoint: a retried attempt skips
 * every page it finds staged, so at most the pages not yet written are fetched again. Heartbeats after each page
 * (liveness and progress) and while waiting to retry. A failure carries, as its
 * details, the figures of the pages staged so far. The result's digest describes the
 * pages as stored: a page some other attempt stored first (its copy is kept) leaves it
 * unknown.
 *
 * With `skipRepeated`, a first attempt stages nothing while every page serves the body the
 * last clean merge of the source staged (repeatPages.ts keeps their digests): an
 * unchanged day writes no page. The first page that differs stages the range after all,
 * the pages passed over fetched again. A range left unstaged says so; the workflow stages
 * it after all when another range of the source did change (the merge needs every page).
 */
export async function fetchPageRange(deps: FetchDeps, input: PageRangeInput): Promise<RangeFetched> {
  const source = getSource(input.source);
  const signal = cancellationSignal();
  // A first attempt finds nothing staged: staged pages belong to one run.
  const resumed = activityInfo().attempt > 1;
  const stats = emptyFetchStats();
  let inFlight = emptyRequestStats();
  let pending: { doc: StagedPage; quarantined: QuarantineDocument[] }[] = [];
  const digests: (string | undefined)[] = [];
  let digestKnown = true;
  const flush = async () => {
    if (pending.length === 0) return;
    signal.throwIfAborted();
    // Quarantine first: a crash in between stages the pages again, and quarantines nothing twice.
    await insertIgnoringDuplicates(
      quarantineCollection(deps.db),
      pending.flatMap((p) => p.quarantined),
    );
    const docs = pending.map((p) => p.doc);
    if ((await insertStagedPages(deps.db, docs)) > 0) digestKnown = false;
    // Copies only of pages this insert wrote: one an earlier attempt wrote first may hold other records.
    else await deps.localPages?.keep(deps.db.databaseName, docs);
    for (const { doc } of pending) addPageStats(stats, doc);
    pending = [];
  };
  const stageText = (page: number, url: string, text: string) =>
    stageBody(deps.staging, { source: source.name, runId: input.runId, page, now: new Date(), url, text });
  /** A page read and staged: written with the next batch. */
  const keep = async (page: number, { staged, quarantined, bytes }: StagedText) => {
    const doc: StagedPage = { ...staged, records: new Binary(staged.records), bytes, requests: inFlight.requests, retries: inFlight.retries };
    inFlight = emptyRequestStats();
    digests[page - input.firstPage] = doc.digest;
    pending.push({ doc, quarantined });
    log.debug('page staged', { source: source.name, page, fetched: doc.fetched, invalid: doc.invalid, bytes: doc.bytes, requests: doc.requests });
    if (pending.length >= STAGE_BATCH) await flush();
    heartbeat({ page, stats });
  };
  /** Requests a page, its body read by `read` (a body it refuses is requested again); its requests counted in `inFlight`. */
  const request = <T>(page: number, read: (text: string, url: string) => T | Promise<T>): Promise<T> => {
    inFlight = emptyRequestStats();
    const url = pageUrl(deps.apiUrl, source.path, page, input.pageSize);
    const hooks = {
      signal,
      onRetry: (reason: RetryReason, attempt: number, delayMs: number, message: string) => {
        heartbeat({ page, stats });
        log.warn('request retry', { source: source.name, page, reason, attempt, delayMs, error: message });
      },
    };
    return requestPageAs(deps.http, url, deps.retryPolicy, inFlight, hooks, deps.maxResponseBytes, (text) => read(text, url));
  };
  /** Fetches, validates and stages a page: read and staged in one step, on the staging threads. */
  const stageAt = async (page: number) => keep(page, await request(page, (text, url) => stageText(page, url, text)));

  // A first attempt may leave pages unstaged whose bodies the last clean merge staged; a
  // retry stages every page (it cannot tell what its first attempt left out).
  const kept = input.skipRepeated && !resumed ? await keptBodies(deps.db, source) : null;
  /** Pages fetched, found as kept and not staged, while every page so far was. */
  let unstaged: { page: number; bytes: number; requests: RequestStats }[] | null = kept ? [] : null;
  try {
    for (let page = input.firstPage; page <= input.lastPage; page++) {
      // An attempt Temporal has given up on (timed out, cancelled) must stop writing.
      signal.throwIfAborted();
      if (resumed) {
        const done = await findStagedPage(deps.db, source.name, input.runId, page, { projection: { records: 0 } });
        if (done) {
          digests[page - input.firstPage] = done.digest;
          addPageStats(stats, done);
          continue;
        }
      }
      if (kept && unstaged) {
        const bodyKept = kept.bodies[page - 1];
        // The body the last clean merge staged is not staged; any other is, as always.
        const outcome = await request<StagedText | { unstagedBytes: number }>(page, (text, url) =>
          bodyKept === bodyDigest(text) ? { unstagedBytes: Buffer.byteLength(text) } : stageText(page, url, text),
        );
        if ('unstagedBytes' in outcome) {
          unstaged.push({ page, bytes: outcome.unstagedBytes, requests: inFlight });
          inFlight = emptyRequestStats();
          heartbeat({ page, stats });
          continue;
        }
        // A page differs: the range is staged after all, the pages passed over fetched again.
        const passed = unstaged;
        unstaged = null;
        for (const p of passed) addRequestStats(stats, p.requests);
        await keep(page, outcome);
        for (const p of passed) await stageAt(p.page);
        continue;
      }
      await stageAt(page);
    }
    await flush();
  } catch (err) {
    if (signal.aborted) throw err;
    // Pages fetched but not yet written are fetched again by the retry: their requests count now.
    for (const { doc } of pending) addRequestStats(stats, { requests: doc.requests, retries: doc.retries });
    for (const p of unstaged ?? []) addRequestStats(stats, p.requests);
    addRequestStats(stats, inFlight);
    throw withPartialStats(err, stats);
  }
  if (kept && unstaged) {
    // Every page as the last clean merge staged it: reported from what it kept.
    for (const { page, bytes, requests } of unstaged) {
      addPageStats(stats, {
        fetched: kept.fetched[page - 1] ?? 0,
        invalid: 0,
        keylessInvalid: 0,
        bytes,
        drift: kept.drifts[page] ?? emptyDrift(),
        ...requests,
      });
    }
    // Pages past the kept ones never match, so the kept digests cover the range.
    const digest = rangeDigest(kept.digests.slice(input.firstPage - 1, input.lastPage)) as string;
    log.debug('range unstaged: every page as the last clean merge staged it', { source: source.name, firstPage: input.firstPage, lastPage: input.lastPage });
    return { ...stats, digest, unstaged: true };
  }
  const digest = digestKnown ? rangeDigest(digests) : undefined;
  return digest === undefined ? stats : { ...stats, digest };
}

/** The same failure (message, type, retryability, retry delay), with the range's figures so far as details. */
function withPartialStats(err: unknown, partial: FetchStats): ApplicationFailure {
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
