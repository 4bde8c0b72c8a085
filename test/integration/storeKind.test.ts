import { expect } from 'chai';
import type { Db } from 'mongodb';
import { deleteByIds, findByIds, readsIdInByIndex, writeLimits } from '../../activities/ingest/storeKind.js';
import { deleteStagedPages, stagingCollection, type StagedPage } from '../../stores/staging.js';
import { stagedPageId } from '../../stores/stagedRecords.js';
import { getTestStack } from '../support/testStack.js';

// Reads and deletes by `_id` lists against the project's own store: `$in` through the _id
// index (MongoDB, or FerretDB with the project's patch), with the same outcome as one
// statement per id.

describe('reads and deletes by lists of ids (real MongoDB-protocol server)', function () {
  this.timeout(60_000);
  let db: Db;

  before(async () => {
    const stack = await getTestStack();
    db = (await stack.mongo()).db(`${stack.mongodbDb}_store_kind`);
    await db.dropDatabase();
  });

  it('the store reads {_id: {$in}} through the _id index; explain says so only for a collection that exists', async () => {
    const ferretdb = (await writeLimits(db)).server === 'ferretdb';
    // FerretDB: no collection, no answer yet, taken as no. MongoDB always does.
    expect(await readsIdInByIndex(db, 'not_there')).to.equal(!ferretdb);
    await db.collection<{ _id: string }>('docs').insertOne({ _id: 'a' });
    expect(await readsIdInByIndex(db, 'docs')).to.equal(true);
    expect(await readsIdInByIndex(db, 'not_there'), 'known once asked of a collection that exists').to.equal(true);
    if (ferretdb) {
      const explained = await db.command({ explain: { find: 'docs', filter: { _id: { $in: ['a', 'b'] } } }, verbosity: 'queryPlanner' });
      expect(explained.filterPushdown).to.equal(true);
      expect((explained.queryPlanner as { Plan: string[] }).Plan.join(' ')).to.match(/USING INDEX/);
      // Anything else than strings (or ObjectIds) in $in reads the collection, as before the patch.
      const numbers = await db.command({ explain: { find: 'docs', filter: { _id: { $in: [1, 2] } } }, verbosity: 'queryPlanner' });
      expect(numbers.filterPushdown).to.equal(false);
    }
  });

  it('finds and deletes exactly the listed documents, a thousand ids to a statement', async () => {
    const c = db.collection<{ _id: string; n: number }>('many');
    await c.insertMany(Array.from({ length: 3000 }, (_, n) => ({ _id: `k${n}`, n })));
    // 2,400 ids over three statements, 100 of them not stored.
    const ids = [...Array.from({ length: 2300 }, (_, i) => `k${(i * 7) % 3000}`), ...Array.from({ length: 100 }, (_, i) => `missing${i}`)];
    const found = await findByIds(db, c, ids);
    expect(found.size).to.equal(2300);
    expect(found.get('k7')).to.deep.equal({ _id: 'k7', n: 7 });
    expect(found.has('missing0')).to.equal(false);
    const projected = await findByIds(db, c, ['k1', 'k2'], { _id: 1 });
    expect([...projected.values()]).to.have.deep.members([{ _id: 'k1' }, { _id: 'k2' }]);

    expect(await deleteByIds(db, c, ids)).to.equal(2300);
    expect(await c.countDocuments({})).to.equal(700);
    const left = new Set((await c.find({}).toArray()).map((d) => d._id));
    expect(ids.filter((id) => left.has(id))).to.deep.equal([]);
    expect(await deleteByIds(db, c, ids), 'deleting again deletes nothing').to.equal(0);
    expect(await deleteByIds(db, c, [])).to.equal(0);
  });

  it("deletes a run's staged pages by $in as by deleteOne statements", async () => {
    const page = (runId: string, n: number) => ({ _id: stagedPageId('tracks', runId, n), source: 'tracks', run_id: runId, page: n }) as unknown as StagedPage;
    for (const runId of ['by-in', 'by-one', 'other']) await stagingCollection(db).insertMany(Array.from({ length: 1200 }, (_, i) => page(runId, i + 1)));
    expect(await deleteStagedPages(db, 'tracks', 'by-in', 1200, 25, true)).to.equal(1200);
    expect(await deleteStagedPages(db, 'tracks', 'by-one', undefined, 25, false)).to.equal(1200);
    expect(await stagingCollection(db).countDocuments({})).to.equal(1200);
    expect(await stagingCollection(db).countDocuments({ run_id: 'other' })).to.equal(1200);
    expect(await deleteStagedPages(db, 'tracks', 'other', undefined, 25, true), 'page by page until none is left').to.equal(1200);
    expect(await stagingCollection(db).countDocuments({})).to.equal(0);
  });
});
