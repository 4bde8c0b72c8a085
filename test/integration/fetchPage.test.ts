import { expect } from 'chai';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Db } from 'mongodb';
import { fetchPage, pageUrl } from '../../activities/ingest/fetchPage.js';
import { fetchPageRange, type RangeFetched } from '../../activities/ingest/fetchPageRange.js';
import { mergeSource } from '../../activities/ingest/merge/mergeSource.js';
import { createHttpClient } from '../../activities/ingest/httpClient.js';
import { quarantineCollection } from '../../stores/quarantine.js';
import { requestPage } from '../../activities/ingest/requestPage.js';
import { rangeDigest, stagedPageId } from '../../stores/stagedRecords.js';
import { decodeRecords, deleteStagedPages, stagingCollection } from '../../stores/staging.js';
import { StagingPool } from '../../activities/ingest/stagingPool.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { getTestStack } from '../support/testStack.js';
import { fetchDeps } from '../support/fetchDeps.js';
import { emptyRequestStats, type FetchStats } from '../../contracts/ingest.js';
import type { MergeInput, MergeStats, PageRangeInput } from '../../contracts/ingest.js';

// fetchPage over real HTTP against the simulator misbehaving on purpose: every way a
// page can fail is classified as worth retrying or not, and says what happened.

describe('fetchPage against a misbehaving API', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let base: string;
  const http = createHttpClient({ timeoutMs: 2_000, maxSockets: 4 });
  const url = (page = 1, size = 100, path = '/tracks') => pageUrl(base, path, page, size);

  before(async () => {
    sim = createSimulator({ seed: 'fetch', tracks: 250, users: 10, listenHistory: 10 });
    base = await sim.listen(0);
  });
  afterEach(() => sim.faults.clear());
  after(() => sim.close());

  async function failure(promise: Promise<unknown>): Promise<ApplicationFailure> {
    try {
      await promise;
    } catch (err) {
      expect(err).to.be.instanceOf(ApplicationFailure);
      return err as ApplicationFailure;
    }
    throw new Error('expected fetchPage to fail');
  }

  it('returns the page envelope of a good answer', async () => {
    const page = await fetchPage(http, url(3));
    expect(page).to.include({ total: 250, page: 3, size: 100, pages: 3 });
    expect(page.items).to.have.length(50);
  });

  it('429 with Retry-After in seconds: retryable, and the next attempt waits that long', async () => {
    sim.faults.add({ kind: 'status', status: 429, retryAfter: '7', times: 1 });
    const f = await failure(fetchPage(http, url()));
    expect(f).to.include({ type: 'HttpRetryableStatus', nonRetryable: false, nextRetryDelay: 7000 });
    expect(f.message).to.include(`GET ${url()} answered 429`);
    expect((await fetchPage(http, url())).items, 'the fault was used up').to.have.length(100);
  });

  it('429 with Retry-After as an HTTP date, and 503 without it: retryable', async () => {
    sim.faults.add({ kind: 'status', status: 429, retryAfter: new Date(Date.now() + 20_000).toUTCString(), times: 1 });
    const dated = await failure(fetchPage(http, url()));
    expect(dated.nextRetryDelay).to.be.within(15_000, 20_000);
    for (const status of [408, 500, 502, 503, 504]) {
      sim.faults.add({ kind: 'status', status, times: 1 });
      const f = await failure(fetchPage(http, url()));
      expect(f, String(status)).to.include({ type: 'HttpRetryableStatus', nonRetryable: false });
      expect(f.nextRetryDelay, String(status)).to.equal(undefined);
    }
  });

  it('an HTML error page from a proxy: retryable, with the start of the page in the message', async () => {
    sim.faults.add({ kind: 'html', status: 502, times: 1 });
    const f = await failure(fetchPage(http, url()));
    expect(f).to.include({ type: 'HttpRetryableStatus', nonRetryable: false });
    expect(f.message).to.include('answered 502').and.include('<html>');
  });

  it('a 200 that is HTML, truncated JSON or not a page envelope: retryable, as a bad body', async () => {
    sim.faults.add({ kind: 'html', status: 200, times: 1 });
    expect(await failure(fetchPage(http, url()))).to.include({ type: 'HttpBadBody', nonRetryable: false });
    sim.faults.add({ kind: 'truncated', times: 1 });
    const truncated = await failure(fetchPage(http, url()));
    expect(truncated).to.include({ type: 'HttpBadBody', nonRetryable: false });
    expect(truncated.message).to.include('not JSON');
    sim.faults.add({ kind: 'bad-envelope', times: 1 });
    const envelope = await failure(fetchPage(http, url()));
    expect(envelope).to.include({ type: 'HttpBadBody', nonRetryable: false });
    expect(envelope.message).to.include('unexpected page envelope: items');
  });

  it('a dropped connection and a timeout: retryable network errors', async () => {
    sim.faults.add({ kind: 'reset', times: 1 });
    const reset = await failure(fetchPage(http, url()));
    expect(reset).to.include({ type: 'HttpNetworkError', nonRetryable: false });
    expect(reset.message).to.match(/ECONNRESET|socket hang up/);
    sim.faults.add({ kind: 'delay', delayMs: 3_000, times: 1 });
    const slow = await failure(fetchPage(http, url()));
    expect(slow).to.include({ type: 'HttpTimeout', nonRetryable: false });
    expect(slow.message).to.include('ETIMEDOUT');
  });

  it('any other status fails at once, naming the URL and the status', async () => {
    const tooBig = await failure(fetchPage(http, url(1, 101)));
    expect(tooBig).to.include({ type: 'HttpFatalStatus', nonRetryable: true });
    expect(tooBig.message)
      .to.include(`GET ${url(1, 101)} answered 422`)
      .and.include('less_than_equal');
    const missing = await failure(fetchPage(http, url(1, 100, '/albums')));
    expect(missing).to.include({ type: 'HttpFatalStatus', nonRetryable: true });
    expect(missing.message).to.include('answered 404');
    sim.faults.add({ kind: 'status', status: 501, times: 1 });
    expect(await failure(fetchPage(http, url()))).to.include({ type: 'HttpFatalStatus', nonRetryable: true });
  });

  it('stops when its activity is cancelled, without classifying the abort', async () => {
    sim.faults.add({ kind: 'delay', delayMs: 1_500, times: 1 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by Temporal')), 100);
    try {
      await fetchPage(http, url(), controller.signal);
      expect.fail('should be aborted');
    } catch (err) {
      expect(err).not.to.be.instanceOf(ApplicationFailure);
    }
  });

  it('a refused connection is a retryable network error', async () => {
    const closed = createSimulator({ seed: 'x', tracks: 1, users: 1, listenHistory: 0 });
    const gone = await closed.listen(0);
    await closed.close();
    const f = await failure(fetchPage(http, pageUrl(gone, '/tracks', 1, 100)));
    expect(f).to.include({ type: 'HttpNetworkError', nonRetryable: false });
    expect(f.message).to.include('ECONNREFUSED');
  });
});

describe('requestPage: retries in place', function () {
  this.timeout(30_000);
  let sim: Simulator;
  let url: string;
  const http = createHttpClient({ timeoutMs: 2_000, maxSockets: 4 });
  const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 5_000 };

  before(async () => {
    sim = createSimulator({ seed: 'retries', tracks: 100, users: 1, listenHistory: 0 });
    url = pageUrl(await sim.listen(0), '/tracks', 1, 100);
  });
  afterEach(() => sim.faults.clear());
  after(() => sim.close());

  const run = async (hooks: { sleeps: number[] }) => {
    const stats = emptyRequestStats();
    const reasons: string[] = [];
    const page = await requestPage(http, url, policy, stats, {
      sleep: async (ms) => void hooks.sleeps.push(ms),
      random: () => 1,
      onRetry: (reason) => reasons.push(reason),
    });
    return { page, stats, reasons };
  };

  it('retries transient failures with exponential backoff, and counts them by reason', async () => {
    sim.faults.add({ kind: 'status', status: 503, times: 1 });
    sim.faults.add({ kind: 'reset', times: 1 });
    sim.faults.add({ kind: 'truncated', times: 1 });
    const sleeps: number[] = [];
    const { page, stats, reasons } = await run({ sleeps });
    expect(page.items).to.have.length(100);
    expect(reasons).to.deep.equal(['5xx', 'network', 'parse']);
    expect(stats).to.deep.equal({ requests: 4, retries: { '429': 0, '5xx': 1, timeout: 0, network: 1, parse: 1 } });
    expect(sleeps, 'full jitter draws below 100, 200, 400 ms').to.deep.equal([100, 200, 400]);
  });

  it('waits as long as Retry-After says, up to its cap', async () => {
    sim.faults.add({ kind: 'status', status: 429, retryAfter: '2', times: 1 });
    sim.faults.add({ kind: 'status', status: 429, retryAfter: '3600', times: 1 });
    const sleeps: number[] = [];
    const { stats } = await run({ sleeps });
    expect(sleeps).to.deep.equal([2_000, 5_000]);
    expect(stats.retries['429']).to.equal(2);
  });

  it('gives up after maxAttempts with the last failure, and never retries a fatal one', async () => {
    sim.faults.add({ kind: 'status', status: 500, times: 10 });
    const stats = emptyRequestStats();
    try {
      await requestPage(http, url, policy, stats, { sleep: async () => {} });
      expect.fail('should give up');
    } catch (err) {
      expect(err).to.be.instanceOf(ApplicationFailure);
      expect((err as ApplicationFailure).type).to.equal('HttpRetryableStatus');
    }
    expect(stats).to.deep.equal({ requests: 4, retries: { '429': 0, '5xx': 3, timeout: 0, network: 0, parse: 0 } });
    sim.faults.clear();
    sim.faults.add({ kind: 'status', status: 404, times: 1 });
    const fatal = emptyRequestStats();
    try {
      await requestPage(http, url, policy, fatal, { sleep: async () => {} });
      expect.fail('should fail at once');
    } catch (err) {
      expect((err as ApplicationFailure).type).to.equal('HttpFatalStatus');
    }
    expect(fatal.requests).to.equal(1);
  });
});

describe('fetchPageRange (real MongoDB-protocol server)', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let db: Db;
  let apiUrl: string;
  const rangeDeps = () => fetchDeps(db, apiUrl);

  before(async () => {
    const stack = await getTestStack();
    db = (await stack.mongo()).db(`${stack.mongodbDb}_range`);
    sim = createSimulator({ seed: 'range', tracks: 1000, users: 1, listenHistory: 0, invalidRate: 0.02 });
    apiUrl = await sim.listen(0);
  });
  after(() => sim.close());

  it('stages each page once; a retried attempt fetches only the pages not staged yet', async () => {
    const deps = rangeDeps();
    const range = (input: PageRangeInput) => fetchPageRange(deps, input);
    const first = new MockActivityEnvironment({ attempt: 1 });
    let heartbeats = 0;
    first.on('heartbeat', () => heartbeats++);
    const part: RangeFetched = await first.run(range, { source: 'tracks' as const, runId: 'resume', firstPage: 1, lastPage: 3, pageSize: 100 });
    expect(part).to.include({ pages: 3, fetched: 300, requests: 3 });
    expect(heartbeats).to.equal(3);

    const retried: RangeFetched = await new MockActivityEnvironment({ attempt: 2 }).run(range, {
      source: 'tracks' as const,
      runId: 'resume',
      firstPage: 1,
      lastPage: 6,
      pageSize: 100,
    });
    const requested = sim.requestCounts();
    expect([1, 2, 3, 4, 5, 6].map((p) => requested.get(`/tracks?page=${p}`))).to.deep.equal([1, 1, 1, 1, 1, 1]);
    const invalid = sim.knobs.tracks.invalid.filter((i) => i < 600).length;
    expect(retried).to.include({ pages: 6, fetched: 600, valid: 600 - invalid, invalid, requests: 6 });
    expect(await stagingCollection(db).countDocuments({ source: 'tracks', run_id: 'resume' })).to.equal(6);
    // Each result digests its pages as stored, those the retry found staged included.
    const stored = (await stagingCollection(db).find({ run_id: 'resume' }).sort({ page: 1 }).toArray()).map((p) => p.digest);
    expect(stored.every((d) => typeof d === 'string' && d.length === 32)).to.equal(true);
    expect(part.digest).to.equal(rangeDigest(stored.slice(0, 3)));
    expect(retried.digest).to.equal(rangeDigest(stored));
    expect(retried.digest).to.not.equal(part.digest);
    // A page another attempt stored first keeps that attempt's copy: the range cannot vouch for it.
    const page2 = (await stagingCollection(db).findOne({ _id: stagedPageId('tracks', 'resume', 2) }))!;
    await stagingCollection(db).insertOne({ ...page2, _id: stagedPageId('tracks', 'raced', 2), run_id: 'raced' });
    const raced: RangeFetched = await new MockActivityEnvironment({ attempt: 1 }).run(range, {
      source: 'tracks' as const,
      runId: 'raced',
      firstPage: 1,
      lastPage: 3,
      pageSize: 100,
    });
    expect(raced).to.include({ pages: 3, fetched: 300 });
    expect(raced).to.not.have.property('digest');
    await deleteStagedPages(db, 'tracks', 'raced', 3, 4);
    // Once merged, the pages are deleted by _id, a few to a command, with or without their count.
    expect(await deleteStagedPages(db, 'tracks', 'resume', undefined, 4)).to.equal(6);
    expect(await stagingCollection(db).countDocuments({ source: 'tracks', run_id: 'resume' })).to.equal(0);
    expect(await deleteStagedPages(db, 'tracks', 'resume', 6, 4), 'deleting again deletes nothing').to.equal(0);
    expect(await quarantineCollection(db).countDocuments({ run_id: 'resume' })).to.equal(invalid);
  });

  it('on the staging threads: the same staged pages and quarantine as inline; a body that is not a page is requested again', async () => {
    const base = rangeDeps();
    const pool = new StagingPool(2);
    try {
      const input = (runId: string) => ({ source: 'tracks' as const, runId, firstPage: 1, lastPage: 4, pageSize: 100 });
      const inline: FetchStats = await new MockActivityEnvironment().run((i: PageRangeInput) => fetchPageRange(base, i), input('inline'));
      sim.faults.add({ kind: 'truncated', times: 1 });
      const threaded: FetchStats = await new MockActivityEnvironment().run(
        (i: PageRangeInput) => fetchPageRange({ ...base, staging: pool }, i),
        input('threads'),
      );
      expect(threaded.retries.parse, 'the truncated body').to.equal(1);
      expect({ ...threaded, requests: 0, retries: null, bytes: 0 }).to.deep.equal({ ...inline, requests: 0, retries: null, bytes: 0 });
      const pages = async (runId: string) =>
        (await stagingCollection(db).find({ run_id: runId }).sort({ page: 1 }).toArray()).map(
          ({ _id, run_id, fetched_at, bytes, requests, retries, records, ...rest }) => ({
            ...rest,
            records: decodeRecords({ records, format: rest.format }),
          }),
        );
      const [a, b] = [await pages('inline'), await pages('threads')];
      expect(a).to.have.length(4);
      expect(b).to.deep.equal(a);
      const quarantined = async (runId: string) =>
        (await quarantineCollection(db).find({ run_id: runId }).sort({ _id: 1 }).toArray()).map((q) => [q.key, q.record_json, q.issues]);
      expect(await quarantined('threads'))
        .to.deep.equal(await quarantined('inline'))
        .and.to.have.length.greaterThan(0);
    } finally {
      await pool.close();
    }
  });
});

describe('fetchPageRange leaving unchanged pages unstaged (real MongoDB-protocol server)', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let db: Db;
  let apiUrl: string;
  const deps = () => fetchDeps(db, apiUrl);
  const ranges = [
    { firstPage: 1, lastPage: 2 },
    { firstPage: 3, lastPage: 5 },
  ];
  const fetchRange = (runId: string, range: { firstPage: number; lastPage: number }, attempt = 1): Promise<RangeFetched> =>
    new MockActivityEnvironment({ attempt }).run((i: PageRangeInput) => fetchPageRange(deps(), i), {
      source: 'tracks' as const,
      runId,
      pageSize: 100,
      skipRepeated: true,
      ...range,
    });
  const merge = (runId: string, digests?: RangeFetched[]): Promise<MergeStats> =>
    new MockActivityEnvironment().run((i: MergeInput) => mergeSource({ db }, i), {
      source: 'tracks' as const,
      runId,
      pages: 5,
      complete: true,
      expectedRecords: 500,
      ...(digests ? { ranges: digests.map((d, i) => ({ ...ranges[i]!, digest: d.digest as string })) } : {}),
    });
  const stagedPages = async (runId: string) => (await stagingCollection(db).find({ run_id: runId }).sort({ page: 1 }).toArray()).map((p) => p.page);
  const bodies = async () => Promise.all([1, 2, 3, 4, 5].map(async (p) => (await fetch(pageUrl(apiUrl, '/tracks', p, 100))).text()));

  before(async () => {
    const stack = await getTestStack();
    db = (await stack.mongo()).db(`${stack.mongodbDb}_unstaged`);
    await db.dropDatabase();
    sim = createSimulator({ seed: 'unstaged', tracks: 500, users: 1, listenHistory: 0 });
    apiUrl = await sim.listen(0);
  });
  after(() => sim.close());

  it('stages nothing while every page serves the body the last clean merge staged; a page that differs stages its range after all', async () => {
    // Nothing kept yet: every page is staged, and the clean merge keeps the pages' bodies.
    const first = await Promise.all(ranges.map((r) => fetchRange('day-1', r)));
    expect(first.map((r) => r.unstaged)).to.deep.equal([undefined, undefined]);
    expect(await stagedPages('day-1')).to.deep.equal([1, 2, 3, 4, 5]);
    expect(await merge('day-1')).to.include({ inserted: 500 });
    await deleteStagedPages(db, 'tracks', 'day-1', 5, 4);

    // The same bodies: no page staged; the figures and digests are the staged pages' of day 1.
    const second = await Promise.all(ranges.map((r) => fetchRange('day-2', r)));
    expect(second.map((r) => r.unstaged)).to.deep.equal([true, true]);
    expect(await stagedPages('day-2')).to.deep.equal([]);
    expect(second.map(({ unstaged, ...rest }) => rest)).to.deep.equal(first);
    expect(await merge('day-2', second), 'the merge repeats day 1 from the ranges alone').to.include({ unchanged: 500, inserted: 0, updated: 0 });

    // One record changes: its page's range is staged in full (the pages before it fetched again), the other stays unstaged.
    const before = await bodies();
    sim.mutate({ updated: 0.2, deleted: 0, added: 0 });
    const after = await bodies();
    const changed = [1, 2, 3, 4, 5].filter((p) => before[p - 1] !== after[p - 1]);
    expect(changed).to.have.length(1);
    const page = changed[0]!;
    const requested = (p: number) => sim.requestCounts().get(`/tracks?page=${p}`) ?? 0;
    const requestsBefore = [1, 2, 3, 4, 5].map(requested);
    const third = await Promise.all(ranges.map((r) => fetchRange('day-3', r)));
    const inRange = ranges.findIndex((r) => page >= r.firstPage && page <= r.lastPage);
    const range = ranges[inRange]!;
    expect(third.map((r) => r.unstaged ?? false)).to.deep.equal(ranges.map((_, i) => i !== inRange));
    expect(await stagedPages('day-3')).to.deep.equal(Array.from({ length: range.lastPage - range.firstPage + 1 }, (_, i) => range.firstPage + i));
    // Pages of that range before the changed one were requested twice: found as kept, then fetched to stage.
    const extra = page - range.firstPage;
    expect(third[inRange]).to.include({ pages: range.lastPage - range.firstPage + 1, requests: range.lastPage - range.firstPage + 1 + extra });
    expect([1, 2, 3, 4, 5].map((p) => requested(p) - (requestsBefore[p - 1] as number))).to.deep.equal(
      [1, 2, 3, 4, 5].map((p) => (p >= range.firstPage && p < page ? 2 : 1)),
    );
    // The merge, given an unstaged range beside a staged one, does not repeat: it needs every page (the workflow stages them first).
    const failure = await merge('day-3', third).then(
      () => null,
      (err: unknown) => err as ApplicationFailure,
    );
    expect(failure?.type).to.equal('MergeInputMissing');
    await deleteStagedPages(db, 'tracks', 'day-3', 5, 4);

    // A retried attempt stages every page of its range, whatever it finds.
    const retried = await fetchRange('day-4', ranges[inRange === 0 ? 1 : 0]!, 2);
    expect(retried.unstaged).to.equal(undefined);
    expect(await stagedPages('day-4')).to.have.length.greaterThan(0);
  });
});
