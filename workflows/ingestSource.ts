import type { Duration } from '@temporalio/common';
import { ApplicationFailure, log, patched, proxyActivities, setHandler, upsertMemo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { addCounts, subtractCounts } from './counts.js';
import { failureDetails, hasFailureType, rootMessage } from './failures.js';
import { planPageRanges, type PageRange } from './pagePlan.js';
import { describeIngest } from './memo.js';
import { ingestProgressQuery } from './queries.js';
import type { IngestProgress, IngestSourceInput, IngestSourceResult } from '../contracts/workflows.js';
import { type FetchStats, type MergeStats, type RangeDigest, emptyFetchStats, emptyMergeStats } from '../contracts/ingest.js';

/** Temporal attempts of each activity that calls the API, unless the run says otherwise. */
export const DEFAULT_FETCH_ATTEMPTS = 10;

/**
 * A range retries each request in place first (backoff, jitter, Retry-After); when an
 * attempt gives up, Temporal retries it and it resumes after its last staged page. The
 * heartbeat after each page lets a dead worker be noticed within heartbeatTimeout.
 * The merge reads the staging and raw layers once and heartbeats per partition.
 */
function heartbeatingActivities(heartbeatTimeout: Duration, fetchAttempts: number) {
  // Probing reads one record and writes nothing: retry it briskly.
  const { probeSource } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: fetchAttempts },
  });
  const { fetchPageRange } = proxyActivities<Activities>({
    startToCloseTimeout: '1 hour',
    heartbeatTimeout,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: fetchAttempts },
  });
  const { mergeSource } = proxyActivities<Activities>({
    startToCloseTimeout: '4 hours',
    heartbeatTimeout,
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
  });
  return { probeSource, fetchPageRange, mergeSource };
}

// Deletes a few hundred page documents by _id: a minute is ample, and an attempt that
// does not answer is retried soon rather than holding the run for long.
const { dropStaging } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Extra fetch rounds when `total` grows during the run. */
const MAX_EXTRA_ROUNDS = 2;

/** What fetching a source came to: its figures, the pages planned, `total` at the end, the failure that stopped it, the ranges' digests. */
interface Fetched {
  fetch: FetchStats;
  planned: number;
  totalAtEnd: number;
  failure: unknown;
  /** Null for a range whose digest is unknown. */
  digests: (RangeDigest | null)[];
  /** Ranges left unstaged (every page as the last clean merge staged it), with what they reported. */
  unstaged: { range: PageRange; fetched: FetchStats; digest: RangeDigest }[];
  /** Ranges that staged their pages. */
  staged: number;
}

/**
 * Ingests one source:
 *  1. probe for `total`; split the pages into ranges; fetch, validate and stage them, a
 *     bounded number of requests in flight;
 *  2. probe again: if `total` grew, fetch the new pages too;
 *  3. the run is complete when every page is staged, fetched = total at the start =
 *     total at the end, and every invalid record still names its key;
 *  4. merge the staged pages into the raw and curated layers, writing only what changed
 *     (tombstones only if complete); delete the staged pages.
 * If fetching fails for good, nothing is merged: the workflow fails with type
 * IngestFailed, its details holding the figures of every page staged.
 */
export async function ingestSource(input: IngestSourceInput): Promise<IngestSourceResult> {
  const pageSize = input.pageSize ?? 100;
  const fetchAttempts = input.fetchAttempts ?? DEFAULT_FETCH_ATTEMPTS;
  if (!Number.isSafeInteger(fetchAttempts) || fetchAttempts < 1 || fetchAttempts > 100)
    throw ApplicationFailure.nonRetryable(`fetchAttempts must be a whole number from 1 to 100, got ${JSON.stringify(input.fetchAttempts)}`, 'InvalidInput');
  const activities = heartbeatingActivities(input.heartbeatTimeout ?? '2 minutes', fetchAttempts);
  const started = Date.now();
  const progress: IngestProgress = { source: input.source, state: 'probing', totalAtStart: null, pagesPlanned: null, fetch: emptyFetchStats() };
  setHandler(ingestProgressQuery, () => progress);

  const probe = await activities.probeSource({ source: input.source, pageSize });
  progress.totalAtStart = probe.total;
  progress.pagesPlanned = probe.pages;
  // Runs scheduled before ranges could be left unstaged stage every page.
  const skipRepeated = patched('unstaged-repeats');
  const fetched = await fetchAll(input, pageSize, probe.pages, progress, activities, skipRepeated);
  let fetchMs = Date.now() - started;
  let incompleteReason = whyIncomplete(fetched, probe.total);
  const summary = (merge: MergeStats, merged: boolean): IngestSourceResult => {
    const durationMs = Date.now() - started;
    const { fetch, planned, totalAtEnd } = fetched;
    return {
      ...fetch,
      ...merge,
      totalAtStart: probe.total,
      totalAtEnd,
      pagesPlanned: planned,
      complete: incompleteReason === null,
      incompleteReason,
      merged,
      ...(fetched.unstaged.length > 0 ? { unstagedPages: fetched.unstaged.reduce((n, u) => n + u.range.lastPage - u.range.firstPage + 1, 0) } : {}),
      fetchMs,
      mergeMs: merged ? durationMs - fetchMs : 0,
      durationMs,
      recordsPerSecond: Math.round((fetch.fetched * 1000) / Math.max(durationMs, 1)),
      requestsPerSecond: Math.round((fetch.requests * 1000) / Math.max(fetchMs, 1)),
    };
  };
  const failIfFetchFailed = () => {
    const { failure, fetch, planned } = fetched;
    if (failure === undefined) return;
    progress.state = 'failed';
    const result = summary(emptyMergeStats(), false);
    upsertMemo({ summary: `${input.source}: FAILED while fetching after ${fetch.pages}/${planned} pages: ${rootMessage(failure)}` });
    throw ApplicationFailure.create({
      message: `${input.source}: ${rootMessage(failure)}`,
      type: 'IngestFailed',
      nonRetryable: true,
      details: [result],
      cause: failure as Error,
    });
  };
  failIfFetchFailed();

  progress.state = 'merging';
  const mergeFetched = () => {
    const ranges = fetched.digests.every((d) => d !== null) ? [...(fetched.digests as RangeDigest[])].sort((a, b) => a.firstPage - b.firstPage) : undefined;
    return activities.mergeSource({
      source: input.source,
      runId: input.runId,
      pages: fetched.planned,
      complete: incompleteReason === null,
      expectedRecords: Math.max(probe.total, fetched.totalAtEnd),
      ...(ranges ? { ranges } : {}),
    });
  };
  let merge: MergeStats;
  try {
    merge = await mergeFetched();
  } catch (err) {
    // Every range unstaged, but the merge no longer repeats the pages it kept (another
    // run's merge of the source came between, or the run is not complete): it needs them
    // staged after all, bracketed by a new probe like any page, and judged again.
    if (fetched.unstaged.length === 0 || !hasFailureType(err, 'MergeInputMissing')) throw err;
    log.warn('the merge needs the unstaged pages: staging them', { source: input.source, ranges: fetched.unstaged.length });
    progress.state = 'fetching';
    await reconcile(input, pageSize, fetched, progress, activities, false, true);
    fetchMs = Date.now() - started;
    incompleteReason = whyIncomplete(fetched, probe.total);
    failIfFetchFailed();
    progress.state = 'merging';
    merge = await mergeFetched();
  }
  // A range left unstaged was one first attempt that wrote no page: with every range so,
  // only the pages of failed runs past their retention are deleted.
  const stagedPages = fetched.staged > 0 || fetched.unstaged.length === 0 ? fetched.planned : 0;
  await dropStaging({ source: input.source, runId: input.runId, pages: stagedPages });
  progress.state = 'completed';
  const result = summary(merge, true);
  upsertMemo({ summary: describeIngest(input.source, result) });
  return result;
}

/**
 * Fetches pages 1..pages in ranges, `concurrency` at once, then probes again: when `total`
 * grew, the new pages are fetched too (at most MAX_EXTRA_ROUNDS times). After a failure no
 * new range starts; those in flight finish and keep their figures. Ranges left unstaged
 * are staged before the last probe whenever another range staged (reconcile), so
 * that every page fetched is bracketed by the probes that judge the run complete.
 */
async function fetchAll(
  input: IngestSourceInput,
  pageSize: number,
  pages: number,
  progress: IngestProgress,
  activities: ReturnType<typeof heartbeatingActivities>,
  skipRepeated: boolean,
): Promise<Fetched> {
  const out: Fetched = {
    fetch: progress.fetch,
    planned: pages,
    totalAtEnd: progress.totalAtStart as number,
    failure: undefined,
    digests: [],
    unstaged: [],
    staged: 0,
  };
  progress.state = 'fetching';
  await fetchRanges(input, pageSize, 1, pages, out, progress, activities, skipRepeated);
  await reconcile(input, pageSize, out, progress, activities, skipRepeated, false);
  return out;
}

/**
 * Probes `total` again (a round per growth, at most MAX_EXTRA_ROUNDS extra), fetching new
 * pages as it grows; before each probe, stages the unstaged ranges when the merge will
 * read every page (another range staged, or the pages grew) or when `stageAll` says so.
 */
async function reconcile(
  input: IngestSourceInput,
  pageSize: number,
  out: Fetched,
  progress: IngestProgress,
  activities: ReturnType<typeof heartbeatingActivities>,
  skipRepeated: boolean,
  stageAll: boolean,
): Promise<void> {
  const pagesAtStart = out.planned;
  const settle = async () => {
    if (out.failure === undefined && out.unstaged.length > 0 && (stageAll || out.staged > 0 || out.planned !== pagesAtStart)) {
      await stageUnstaged(input, pageSize, out, progress, activities);
    }
  };
  await settle();
  progress.state = 'reconciling';
  for (let round = 0; out.failure === undefined && round <= MAX_EXTRA_ROUNDS; round++) {
    out.totalAtEnd = (await activities.probeSource({ source: input.source, pageSize })).total;
    const pagesNow = Math.ceil(out.totalAtEnd / pageSize);
    if (pagesNow <= out.planned || round === MAX_EXTRA_ROUNDS) break;
    log.warn('total grew during the run: fetching the new pages', { source: input.source, totalAtStart: progress.totalAtStart, totalAtEnd: out.totalAtEnd });
    progress.state = 'fetching';
    await fetchRanges(input, pageSize, out.planned + 1, pagesNow, out, progress, activities, skipRepeated);
    out.planned = pagesNow;
    await settle();
    progress.state = 'reconciling';
  }
  progress.pagesPlanned = out.planned;
}

/** Fetches pages first..last in ranges, `concurrency` lanes; a failure stops new ranges and is kept in `out`. */
async function fetchRanges(
  input: IngestSourceInput,
  pageSize: number,
  first: number,
  last: number,
  out: Fetched,
  progress: IngestProgress,
  { fetchPageRange }: Pick<ReturnType<typeof heartbeatingActivities>, 'fetchPageRange'>,
  skipRepeated: boolean,
): Promise<void> {
  const concurrency = lanes(input);
  // Two ranges per lane: few activities (each is a round trip through Temporal) and
  // balanced lanes; a retried range resumes page by page from its staged pages anyway.
  const perRange = Math.max(1, Math.ceil((last - first + 1) / (input.maxRanges ?? 2 * concurrency)));
  const pending: PageRange[] = planPageRanges(last - first + 1, perRange).map((r) => ({
    firstPage: r.firstPage + first - 1,
    lastPage: r.lastPage + first - 1,
  }));
  await inLanes(pending, concurrency, out, progress, async (range) => {
    const { digest, unstaged, ...fetched } = await fetchPageRange({
      source: input.source,
      runId: input.runId,
      pageSize,
      ...range,
      ...(skipRepeated ? { skipRepeated } : {}),
    });
    addCounts(progress.fetch, fetched);
    // What each range staged: the merge recognises a repeat of the last clean merge's pages from these.
    const rangeDigest = digest === undefined ? null : { ...range, digest };
    out.digests.push(rangeDigest);
    if (unstaged && rangeDigest) out.unstaged.push({ range, fetched, digest: rangeDigest });
    else out.staged++;
  });
}

/**
 * Stages the ranges a fetch left unstaged, which the merge needs after all: their page
 * figures and digests become the staged pages' (their first requests still count). A
 * failure stops new ranges and is kept in `out`, with the failed range's partial figures
 * in place of its unstaged ones.
 */
async function stageUnstaged(
  input: IngestSourceInput,
  pageSize: number,
  out: Fetched,
  progress: IngestProgress,
  { fetchPageRange }: Pick<ReturnType<typeof heartbeatingActivities>, 'fetchPageRange'>,
): Promise<void> {
  await inLanes(out.unstaged.splice(0), lanes(input), out, progress, async ({ range, fetched: before, digest: unstagedDigest }) => {
    // The unstaged figures (not their requests) and digest give way before the range is staged: a failure counts its partial figures instead.
    const { requests: _requests, retries: _retries, ...pageFigures } = before;
    subtractCounts(progress.fetch, pageFigures);
    const index = out.digests.indexOf(unstagedDigest);
    out.digests[index] = null;
    out.staged++;
    const { digest, unstaged: _none, ...fetched } = await fetchPageRange({ source: input.source, runId: input.runId, pageSize, ...range });
    addCounts(progress.fetch, fetched);
    out.digests[index] = digest === undefined ? null : { ...range, digest };
  });
}

/** Ranges fetched at once: the run's concurrency, 8 by default. */
const lanes = (input: IngestSourceInput) => Math.max(1, input.concurrency ?? 8);

/**
 * Runs `work` over `items`, `concurrency` at a time. A failure stops new items (those in
 * flight finish) and is kept in `out`, its partial figures counted.
 */
async function inLanes<T>(items: T[], concurrency: number, out: Fetched, progress: IngestProgress, work: (item: T) => Promise<void>): Promise<void> {
  const lane = async (): Promise<void> => {
    for (let item = items.shift(); item !== undefined && out.failure === undefined; item = items.shift()) {
      try {
        await work(item);
      } catch (err) {
        const partial = failureDetails<FetchStats>(err);
        if (partial) addCounts(progress.fetch, partial);
        out.failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** Why the fetch is not a complete picture of the source (then nothing is tombstoned), or null. */
function whyIncomplete({ fetch, failure, totalAtEnd }: Fetched, totalAtStart: number): string | null {
  if (failure !== undefined) return `fetching failed: ${rootMessage(failure)}`;
  if (fetch.fetched !== totalAtStart || totalAtStart !== totalAtEnd) {
    return `fetched ${fetch.fetched} records, total was ${totalAtStart} at the start and ${totalAtEnd} at the end`;
  }
  if (fetch.keylessInvalid > 0) return `${fetch.keylessInvalid} invalid records had no readable key`;
  return null;
}
