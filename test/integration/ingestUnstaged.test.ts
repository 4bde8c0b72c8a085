import { expect } from 'chai';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowFailedError } from '@temporalio/client';
import { emptyFetchStats, emptyMergeStats, type FetchStats, type MergeInput, type PageRangeInput } from '../../contracts/ingest.js';
import type { IngestSourceInput, IngestSourceResult } from '../../contracts/workflows.js';
import type { RangeFetched } from '../../activities/ingest/fetchPageRange.js';
import { StubbedWorkflows, type Calls, type Stub } from '../support/stubbedWorker.js';

// ingestSource when its fetch leaves ranges unstaged (every page as the last clean merge
// staged it): the real workflow code on the real Temporal server, activities stubbed. Four
// pages of 100 in two ranges; what each range serves is the test's.

/** A range's figures: 100 records a page, `drift` as given. */
function figures(range: PageRangeInput, drift: FetchStats['drift'] = { added: {}, missing: {} }): FetchStats {
  const pages = range.lastPage - range.firstPage + 1;
  return { ...emptyFetchStats(), pages, fetched: 100 * pages, valid: 100 * pages, bytes: 1000 * pages, requests: pages, drift };
}

describe('ingestSource with ranges left unstaged (workflow code, stubbed activities)', function () {
  this.timeout(60_000);
  let workflows: StubbedWorkflows;
  let n = 0;
  let fetches = 0;
  /** Every call, in order: `probe`, or `fetch <first>-<last>[ skip]`. */
  let order: string[] = [];

  before(async () => {
    workflows = await StubbedWorkflows.open();
  });
  after(() => workflows?.close());

  /** Runs one ingest; `unstaged(range)` says whether a range with skipRepeated comes back unstaged. */
  async function run(
    unstaged: (range: PageRangeInput) => boolean,
    mergeSource: Stub = async () => ({ ...emptyMergeStats(), unchanged: 400 }),
    staging: (range: PageRangeInput) => void = () => undefined,
  ): Promise<{ result: IngestSourceResult; calls: Calls }> {
    order = [];
    const activities: Record<string, Stub> = {
      probeSource: async () => {
        order.push('probe');
        return { total: 400, pages: 4 };
      },
      fetchPageRange: async (input) => {
        fetches++;
        const range = input as PageRangeInput;
        order.push(`fetch ${range.firstPage}-${range.lastPage}${range.skipRepeated ? ' skip' : ''}`);
        if (!range.skipRepeated) staging(range);
        const digest = `digest-${range.firstPage}-${range.lastPage}${range.skipRepeated && unstaged(range) ? '' : '-staged'}`;
        if (range.skipRepeated && unstaged(range)) {
          const out: RangeFetched = { ...figures(range, { added: { kept_field: 100 }, missing: {} }), digest, unstaged: true };
          return out;
        }
        return { ...figures(range, { added: {}, missing: { staged_field: 1 } }), digest };
      },
      mergeSource,
      dropStaging: async () => undefined,
    };
    const input: IngestSourceInput = { source: 'tracks', runId: `unstaged-${Date.now()}-${n++}`, concurrency: 1, maxRanges: 2 };
    const { value, calls } = await workflows.run(activities, (taskQueue) =>
      workflows.client.workflow.execute('ingestSource', { workflowId: input.runId, taskQueue, args: [input] }),
    );
    return { result: value as IngestSourceResult, calls };
  }

  const fetchCalls = (calls: Calls) => (calls.fetchPageRange as PageRangeInput[]).map((r) => [r.firstPage, r.lastPage, r.skipRepeated ?? false]);
  const mergeRanges = (calls: Calls) => (calls.mergeSource as MergeInput[]).map((m) => m.ranges?.map((r) => r.digest));

  it('every range unstaged: the merge gets their digests, nothing is fetched again, and the run says how many pages it left unstaged', async () => {
    const { result, calls } = await run(() => true);
    expect(fetchCalls(calls)).to.deep.equal([
      [1, 2, true],
      [3, 4, true],
    ]);
    expect(mergeRanges(calls)).to.deep.equal([['digest-1-2', 'digest-3-4']]);
    expect(calls.dropStaging, 'no page of this run to delete, only expired ones').to.deep.equal([
      { source: 'tracks', runId: (calls.mergeSource as MergeInput[])[0]!.runId, pages: 0 },
    ]);
    expect(result).to.include({ pages: 4, fetched: 400, requests: 4, unstagedPages: 4, complete: true, unchanged: 400 });
    expect(result.drift).to.deep.equal({ added: { kept_field: 200 }, missing: {} });
  });

  it('one range changed: the unstaged one is staged after all, its figures replaced (its first requests still counted)', async () => {
    const { result, calls } = await run((range) => range.firstPage === 1);
    expect(fetchCalls(calls)).to.deep.equal([
      [1, 2, true],
      [3, 4, true],
      [1, 2, false],
    ]);
    expect(mergeRanges(calls)).to.deep.equal([['digest-1-2-staged', 'digest-3-4-staged']]);
    expect(calls.dropStaging).to.have.length(1);
    expect((calls.dropStaging as { pages: number }[])[0]!.pages).to.equal(4);
    // Staged before the last probe, which brackets every page fetched.
    expect(order).to.deep.equal(['probe', 'fetch 1-2 skip', 'fetch 3-4 skip', 'fetch 1-2', 'probe']);
    expect(result).to.include({ pages: 4, fetched: 400, valid: 400, bytes: 4000, requests: 6, complete: true });
    expect(result).to.not.have.property('unstagedPages');
    // The unstaged range's drift is taken back whole: no field left at zero.
    expect(result.drift).to.deep.equal({ added: {}, missing: { staged_field: 2 } });
  });

  it('every range unstaged but the merge no longer repeats them (MergeInputMissing): they are staged, and merged again', async () => {
    let merges = 0;
    const { result, calls } = await run(
      () => true,
      async () => {
        if (merges++ === 0) throw ApplicationFailure.nonRetryable('page 1 of tracks is not staged for run x', 'MergeInputMissing');
        return { ...emptyMergeStats(), unchanged: 400 };
      },
    );
    expect(fetchCalls(calls)).to.deep.equal([
      [1, 2, true],
      [3, 4, true],
      [1, 2, false],
      [3, 4, false],
    ]);
    expect(mergeRanges(calls)).to.deep.equal([
      ['digest-1-2', 'digest-3-4'],
      ['digest-1-2-staged', 'digest-3-4-staged'],
    ]);
    expect(result).to.include({ pages: 4, fetched: 400, requests: 8, unchanged: 400, complete: true });
    expect(calls.dropStaging).to.have.length(1);
    // The staged pages are bracketed by a new probe, and the run judged complete again.
    expect(order).to.deep.equal(['probe', 'fetch 1-2 skip', 'fetch 3-4 skip', 'probe', 'fetch 1-2', 'fetch 3-4', 'probe']);
    expect(result).to.not.have.property('unstagedPages');
  });

  it('a range that cannot be staged after all fails the ingest (IngestFailed) with its partial figures in place of the unstaged ones', async () => {
    const failed = await run(
      (range) => range.firstPage === 1,
      undefined,
      (range) => {
        const partial: FetchStats = { ...figures({ ...range, lastPage: range.firstPage }), retries: { ...emptyFetchStats().retries, '5xx': 2 } };
        throw ApplicationFailure.create({ message: 'the API is down', nonRetryable: true, details: [partial] });
      },
    ).then(
      () => null,
      (err: unknown) => err as WorkflowFailedError,
    );
    const cause = failed?.cause as ApplicationFailure | undefined;
    expect(cause?.type).to.equal('IngestFailed');
    expect(order).to.deep.equal(['probe', 'fetch 1-2 skip', 'fetch 3-4 skip', 'fetch 1-2']);
    // Range 3-4 staged 2 pages; range 1-2 counts the one page its failed attempt staged, not its 2 unstaged ones.
    expect(cause?.details?.[0]).to.include({ pages: 3, fetched: 300, requests: 5, merged: false });
  });

  it('a merge failure of any other kind is not answered by staging', async () => {
    fetches = 0;
    const failed = await run(
      () => true,
      async () => {
        throw ApplicationFailure.nonRetryable('the store is full', 'StoreFull');
      },
    ).then(
      () => null,
      (err: unknown) => err as Error,
    );
    expect(failed?.message).to.match(/Workflow execution failed/);
    expect(fetches, 'the two ranges, once each').to.equal(2);
  });
});
