import { expect } from 'chai';
import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Db } from 'mongodb';
import { fetchPageRange, type RangeFetched } from '../../activities/ingest/fetchPageRange.js';
import { mergeSource, type MergeDeps } from '../../activities/ingest/merge/mergeSource.js';
import { LocalStagedPages } from '../../stores/localStagedPages.js';
import { stagedPageId } from '../../stores/stagedRecords.js';
import { deleteStagedPages, stagingCollection, type StagedPage } from '../../stores/staging.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { getTestStack } from '../support/testStack.js';
import { fetchDeps } from '../support/fetchDeps.js';
import type { MergeInput, MergeStats, PageRangeInput } from '../../contracts/ingest.js';

// Copies of staged pages on local disk, read by a merge in the process that staged them:
// the same outcome as from the store, and never a copy the store may not hold.

describe('local copies of staged pages (real MongoDB-protocol server)', function () {
  this.timeout(60_000);
  let sim: Simulator;
  let db: Db;
  let apiUrl: string;
  let dir: string;
  const pageIds = (runId: string) => [1, 2, 3, 4, 5].map((p) => stagedPageId('tracks', runId, p));
  const fetchRange = (runId: string, firstPage: number, lastPage: number, localPages?: LocalStagedPages): Promise<RangeFetched> =>
    new MockActivityEnvironment({ attempt: 1 }).run(
      (i: PageRangeInput) => fetchPageRange({ ...fetchDeps(db, apiUrl), ...(localPages ? { localPages } : {}) }, i),
      { source: 'tracks' as const, runId, firstPage, lastPage, pageSize: 100 },
    );
  const merge = (runId: string, localPages?: LocalStagedPages): Promise<MergeStats> => {
    const deps: MergeDeps = { db, ...(localPages ? { localPages } : {}) };
    return new MockActivityEnvironment().run((i: MergeInput) => mergeSource(deps, i), {
      source: 'tracks' as const,
      runId,
      pages: 5,
      complete: true,
      expectedRecords: 500,
    });
  };

  before(async () => {
    const stack = await getTestStack();
    db = (await stack.mongo()).db(`${stack.mongodbDb}_local_pages`);
    await db.dropDatabase();
    sim = createSimulator({ seed: 'local-pages', tracks: 500, users: 1, listenHistory: 0 });
    apiUrl = await sim.listen(0);
    dir = await mkdtemp(join(tmpdir(), 'moovitamix-local-pages-test-'));
  });
  after(async () => {
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a merge in the process that staged the pages reads its copies, with the same outcome, and forgets them once merged', async () => {
    const local = new LocalStagedPages(dir);
    try {
      await fetchRange('day-1', 1, 5, local);
      expect(local.size).to.equal(5);
      // Each copy is the store's page, field for field.
      for (const id of pageIds('day-1')) {
        const stored = await stagingCollection(db).findOne({ _id: id });
        expect(stored, id).to.not.equal(null);
        expect(await local.read(db.databaseName, id), id).to.deep.equal(stored);
      }
      expect(await local.read(`${db.databaseName}_other`, pageIds('day-1')[0]!), 'copies are per database').to.equal(undefined);

      // Read from the copies alone: the store's pages are gone, and only a merge given the copies finds its input.
      expect(await deleteStagedPages(db, 'tracks', 'day-1', 5, 8)).to.equal(5);
      const failure = await merge('day-1').then(
        () => null,
        (err: unknown) => err as ApplicationFailure,
      );
      expect(failure?.type).to.equal('MergeInputMissing');
      expect(await merge('day-1', local)).to.include({ inserted: 500, updated: 0, unchanged: 0, tombstoned: 0, duplicates: 0 });
      expect(local.size, 'merged: forgotten').to.equal(0);
      expect(
        await readdir(
          join(
            dir,
            (await readdir(dir)).find((n) => n.startsWith('moovitamix-staged-'))!,
          ),
        ),
      ).to.deep.equal([]);

      // The same pages from the store, without copies: the same records, unchanged.
      sim.mutate({ updated: 2, deleted: 0, added: 0 });
      await fetchRange('day-2', 1, 5);
      expect(local.size).to.equal(0);
      expect(await merge('day-2', local)).to.include({ inserted: 0, updated: 10, unchanged: 490, tombstoned: 0 });
    } finally {
      local.close();
    }
    expect(await readdir(dir), 'closed: its directory removed').to.deep.equal([]);
  });

  it('keeps no copy of a page another attempt staged first', async () => {
    const local = new LocalStagedPages(dir);
    try {
      // Page 2 staged by an attempt elsewhere, before this one: the range's one command meets it.
      await fetchRange('day-3', 2, 2);
      sim.mutate({ updated: 2, deleted: 0, added: 0 });
      const fetched = await fetchRange('day-3', 1, 5, local);
      expect(fetched).to.not.have.property('digest');
      expect(local.size).to.equal(0);
      for (const id of pageIds('day-3')) expect(await local.read(db.databaseName, id), id).to.equal(undefined);
      // Read from the store: page 2 as the first attempt staged it.
      const stats = await merge('day-3', local);
      expect(stats.inserted + stats.updated + stats.unchanged).to.equal(500);
    } finally {
      local.close();
    }
  });

  it('a copy that cannot be read is not used; directories abandoned over a day ago are swept', async () => {
    const abandoned = join(dir, 'moovitamix-staged-abandoned');
    const recent = join(dir, 'moovitamix-staged-recent');
    await mkdir(abandoned);
    await mkdir(recent);
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600_000);
    await utimes(abandoned, twoDaysAgo, twoDaysAgo);
    const local = new LocalStagedPages(dir);
    try {
      expect((await readdir(dir)).sort())
        .to.include('moovitamix-staged-recent')
        .and.not.include('moovitamix-staged-abandoned');
      const page = { _id: stagedPageId('tracks', 'run-x', 1), source: 'tracks', run_id: 'run-x', page: 1 } as unknown as StagedPage;
      await local.keep('db', [page]);
      expect(await local.read('db', page._id)).to.deep.equal(page);
      const mine = (await readdir(dir)).find((n) => n.startsWith('moovitamix-staged-') && n !== 'moovitamix-staged-recent')!;
      await rm(join(dir, mine, (await readdir(join(dir, mine)))[0]!));
      expect(await local.read('db', page._id), 'its file is gone').to.equal(undefined);
      await local.forget('db', 'tracks', 'run-x');
      expect(local.size).to.equal(0);
    } finally {
      local.close();
      await rm(recent, { recursive: true, force: true });
    }
  });
});
