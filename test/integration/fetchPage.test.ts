import { expect } from 'chai';
import { ApplicationFailure } from '@temporalio/common';
import { fetchPage, pageUrl } from '../../activities/ingest/fetchPage.js';
import { createHttpClient } from '../../activities/ingest/httpClient.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';

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
    expect(slow).to.include({ type: 'HttpNetworkError', nonRetryable: false });
    expect(slow.message).to.include('ETIMEDOUT');
  });

  it('any other status fails at once, naming the URL and the status', async () => {
    const tooBig = await failure(fetchPage(http, url(1, 101)));
    expect(tooBig).to.include({ type: 'HttpFatalStatus', nonRetryable: true });
    expect(tooBig.message).to.include(`GET ${url(1, 101)} answered 422`).and.include('less_than_equal');
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
