import { expect } from 'chai';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Db } from 'mongodb';
import { registerModel, setAlias } from '../../stores/modelRegistry.js';
import { findList } from '../../activities/recommend/lookup.js';
import { prepareBatch } from '../../activities/recommend/prepare.js';
import { abandonBatch, publishBatch, pruneBatches } from '../../activities/recommend/publish.js';
import { scoreChunk } from '../../activities/recommend/scoreChunk.js';
import { ScoringPool } from '../../models/scoringPool.js';
import { type RecommendSettings } from '../../config/recommendSettings.js';
import { RollbackRefused } from '../../contracts/rollbackRefused.js';
import {
  BATCHES,
  INPUTS,
  MANIFESTS,
  activeState,
  batchCollection,
  itemsOf,
  rollbackActive,
  sparesOf,
  type BatchDocument,
  type RecommendationDocument,
  type StateDocument,
} from '../../stores/recommendations.js';
import { interactionsFromLists } from '../../models/interactions.js';
import { fitItemKnn } from '../../models/itemKnn.js';
import { getTestStack } from '../support/testStack.js';
import { defaultRecommendSettings } from '../../config/config.js';

// Batches in proportion to change, on the real MongoDB-protocol server: an unchanged day
// writes no list, a changed day writes an overlay of the changed users' lists and removal
// markers that readers resolve to exactly what a full batch would serve; rollback,
// pruning and compaction over overlay chains; the fallback model reused on a small change.

describe('overlay batches (real MongoDB-protocol server)', function () {
  this.timeout(120_000);
  let db: Db;
  const pool = new ScoringPool(1);
  const settings: RecommendSettings = { ...defaultRecommendSettings(), k: 5, chunkSize: 10, keepBatches: 2, maxOverlays: 2, maxOverlayShare: 0.5 };
  const run = <R>(fn: () => Promise<R>): Promise<R> => new MockActivityEnvironment().run(fn) as Promise<R>;
  const ALL_IDS = Array.from({ length: 45 }, (_, i) => i + 1);
  const history = (u: number) => [1 + (u % 30), 1 + ((u * 7) % 30), 1 + ((u * 13 + 5) % 30)];

  before(async () => {
    const stack = await getTestStack();
    db = (await stack.mongo()).db(`${stack.mongodbDb}_overlay`);
    // 40 users over 30 tracks; users 36-40 have no history.
    await db.collection('tracks').insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: String(i + 1), id: i + 1, genres: 'rock' })) as never[]);
    await db.collection('users').insertMany(Array.from({ length: 40 }, (_, i) => ({ _id: String(i + 1), id: i + 1, favorite_genres: 'Rock' })) as never[]);
    await db
      .collection('raw_listen_history')
      .insertMany(
        Array.from({ length: 35 }, (_, i) => ({ _id: String(i + 1), record: { user_id: i + 1, items: history(i + 1) }, deleted_at: null })) as never[],
      );
  });
  after(() => pool.close());

  async function build(batchId: string, mode: 'full' | 'incremental' = 'incremental', with_: Partial<RecommendSettings> = {}) {
    const plan = await run(() => prepareBatch(db, { ...settings, ...with_ }, { batchId, workflowId: `wf-${batchId}`, mode }));
    for (let chunk = 0; chunk < plan.chunks; chunk++) await run(() => scoreChunk(db, pool, { batchId, chunk }));
    return plan;
  }
  const setHistory = (user: number, items: number[]) =>
    db.collection('raw_listen_history').replaceOne({ _id: String(user) as never }, { record: { user_id: user, items }, deleted_at: null }, { upsert: true });
  const removeUser = (user: number) => db.collection('users').deleteOne({ _id: String(user) as never });
  const addUser = (user: number) => db.collection('users').insertOne({ _id: String(user), id: user, favorite_genres: 'Rock' } as never);
  const liveUsers = async () => (await db.collection<{ id: number }>('users').find().toArray()).map((u) => u.id).sort((a, b) => a - b);

  type Served = Pick<RecommendationDocument, 'items' | 'cold_start' | 'model' | 'computed_in' | 'batch_id'>;
  /** What a reader of this pointer gets for every id that was ever a user (absent: no list). */
  async function served(state: Pick<StateDocument, 'batch_id' | 'collection' | 'layers' | 'masked_tracks'>): Promise<Map<number, Served>> {
    const out = new Map<number, Served>();
    for (const id of ALL_IDS) {
      const doc = await findList(db, state, id);
      if (doc) out.set(id, { items: doc.items, cold_start: doc.cold_start, model: doc.model, computed_in: doc.computed_in, batch_id: doc.batch_id });
    }
    return out;
  }
  /** A full batch's own collection, as its readers see it. */
  async function wholeBatch(batchId: string): Promise<Map<number, Served>> {
    const docs = await db.collection<RecommendationDocument>(batchCollection(batchId)).find().toArray();
    return new Map(
      docs.map((d) => [d.user_id, { items: d.items, cold_start: d.cold_start, model: d.model, computed_in: d.computed_in, batch_id: d.batch_id }]),
    );
  }
  const listsOnly = (m: Map<number, Served>) => new Map([...m].map(([u, s]) => [u, { items: s.items, cold_start: s.cold_start, model: s.model }]));
  const pointer = async () => (await activeState(db)) as StateDocument;
  const batchDoc = async (id: string) => (await db.collection<BatchDocument>(BATCHES).findOne({ _id: id })) as BatchDocument;
  const recommendationCollections = async () =>
    (await db.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((n) => n.startsWith('recommendations_'))
      .sort();
  /** Every per-user document and manifest there is, as text: what "nothing written" is checked against. */
  async function perUserState(): Promise<string> {
    const parts: unknown[] = [];
    for (const name of await recommendationCollections()) parts.push(name, await db.collection(name).find().sort({ _id: 1 }).toArray());
    parts.push(await db.collection(MANIFESTS).find().sort({ _id: 1 }).toArray());
    return JSON.stringify(parts);
  }

  it('the fallback: a first full batch; an unchanged day writes no list; a small change reuses the model and writes an overlay', async () => {
    const a = await build('a');
    expect(a).to.deep.include({ fullBecause: 'no batch is active yet', layout: 'full', users: 40, toCompute: 40, unchanged: false });
    expect(a.model.key).to.match(/^most-popular@auto-[0-9a-f]{16}$/);
    await run(() => publishBatch(db, 'a'));
    const dayOne = await served(await pointer());
    expect([...dayOne.keys()]).to.deep.equal(await liveUsers());

    // Nothing changed: nothing to score, no list and no manifest written, the pointer untouched.
    const before = await perUserState();
    const stateBefore = await pointer();
    const b = await run(() => prepareBatch(db, settings, { batchId: 'b', workflowId: 'wf-b', mode: 'incremental' }));
    expect(b).to.deep.include({ unchanged: true, baseBatchId: 'a', chunks: 0, users: 40, toCompute: 0, toCarry: 40, model: a.model });
    expect(await run(() => prepareBatch(db, settings, { batchId: 'b', workflowId: 'wf-b', mode: 'incremental' })), 'a retried attempt').to.deep.equal({
      ...b,
      fullBecause: null,
    });
    expect(await perUserState()).to.equal(before);
    expect(await pointer()).to.deep.equal(stateBefore);
    expect(await recommendationCollections()).to.deep.equal([batchCollection('a')]);
    expect(await db.collection(INPUTS).countDocuments({ batch_id: 'b' }), 'no scoring inputs').to.equal(0);
    expect(await batchDoc('b')).to.deep.include({ status: 'unchanged', base_batch_id: 'a', chunks: 0 });

    // One user's listens change (the popularity counts with them): the fallback is reused,
    // so only that user is recomputed, into an overlay of one document.
    await setHistory(3, [30, 29, 28]);
    const c = await build('c');
    expect(c).to.deep.include({ model: a.model, fullBecause: null, layout: 'overlay', toCompute: 1, toCarry: 39, removed: 0 });
    expect(await run(() => publishBatch(db, 'c'))).to.deep.include({ computed: 1, carried: 39, documents: 1 });
    expect(await db.collection(batchCollection('c')).countDocuments()).to.equal(1);
    const dayThree = await served(await pointer());
    for (const [user, list] of dayOne) {
      if (user === 3) expect(dayThree.get(3)).to.deep.include({ computed_in: 'c', batch_id: 'c' });
      else expect(dayThree.get(user), `user ${user}`).to.deep.equal({ ...list, batch_id: 'c' });
    }
    expect(itemsOf(dayThree.get(3) as Served).map((i) => i.track_id)).to.not.include.members([28, 29, 30]);

    // Refreshed (here: a refresh interval of 0), the fallback is refitted on today's counts: a new model, everyone computed.
    const refit = await run(() =>
      prepareBatch(db, { ...settings, fallbackRefreshHours: 0 }, { batchId: 'refit', workflowId: 'wf-refit', mode: 'incremental' }),
    );
    expect(refit.model.key).to.not.equal(a.model.key);
    expect(refit).to.deep.include({ layout: 'full', toCompute: 40 });
    expect(refit.fullBecause).to.include('the model changed');
    await run(() => abandonBatch(db, 'refit', 'test'));
    // An interval the model is older than refits too.
    await db.collection<BatchDocument>(BATCHES).updateOne({ _id: 'c' }, { $set: { model_fitted_at: new Date(Date.now() - 169 * 3600_000) } });
    const aged = await run(() => prepareBatch(db, settings, { batchId: 'aged', workflowId: 'wf-aged', mode: 'incremental' }));
    expect(aged.model.key).to.equal(refit.model.key);
    await run(() => abandonBatch(db, 'aged', 'test'));
  });

  it('a champion: overlays resolve to exactly the lists a full batch computes, removed users included; rollback; pruning keeps chain bases; compaction', async () => {
    const lists = Array.from({ length: 35 }, (_, i) => history(i + 1).map((t) => t - 1));
    const model = fitItemKnn(
      interactionsFromLists(lists, 30),
      Float64Array.from({ length: 30 }, (_, i) => i + 1),
      { neighbors: 10 },
    );
    await setAlias(db, 'champion', (await registerModel(db, { name: 'knn-overlay', model }))._id, 'test');
    expect(await build('d')).to.deep.include({ layout: 'full', toCompute: 40, baseBatchId: 'c' });
    await run(() => publishBatch(db, 'd'));

    // Day e: a history rewritten, a user gone, a user new (with a history), a user new without.
    await setHistory(5, [1, 2, 3, 4]);
    await removeUser(39);
    await addUser(41);
    await setHistory(41, [7, 8]);
    await addUser(42);
    const e = await build('e');
    expect(e).to.deep.include({ layout: 'overlay', baseBatchId: 'd', users: 41, toCompute: 3, toCarry: 38, removed: 1 });
    // A retried chunk (its first attempt died after writing, before its manifest) writes
    // nothing twice: chunk 3 holds users 31-38, 40 (carried), 41 (new) and 39's marker.
    await db.collection(MANIFESTS).deleteOne({ _id: 'e#3' as never });
    expect(await run(() => scoreChunk(db, pool, { batchId: 'e', chunk: 3 }))).to.deep.include({ chunk: 3, users: 10, computed: 1, carried: 9 });
    expect(await run(() => publishBatch(db, 'e'))).to.deep.include({ users: 41, computed: 3, carried: 38, documents: 4 });
    const ids = (await db.collection<{ _id: string }>(batchCollection('e')).find().toArray()).map((d) => d._id).sort();
    expect(ids, 'only computed users and the removed one').to.deep.equal(['39', '41', '42', '5']);
    expect((await pointer()).layers).to.deep.equal([batchCollection('e'), batchCollection('d')]);
    const viewE = await served(await pointer());
    expect([...viewE.keys()]).to.deep.equal(await liveUsers());
    expect(viewE.has(39)).to.equal(false);
    // The same lists a full batch computes from today's data with the same model.
    const check = await build('e-full', 'full');
    expect(check.layout).to.equal('full');
    expect(listsOnly(viewE)).to.deep.equal(listsOnly(await wholeBatch('e-full')));
    await run(() => abandonBatch(db, 'e-full', 'test'));
    expect([...viewE.values()].every((s) => s.batch_id === 'e')).to.equal(true);
    expect(viewE.get(5)?.computed_in).to.equal('e');
    expect(viewE.get(6)?.computed_in).to.equal('d');

    // Day f, then a rollback across the overlay: e is served again, through its own layers.
    await setHistory(6, [9, 10]);
    expect(await build('f')).to.deep.include({ layout: 'overlay', toCompute: 1, removed: 0 });
    await run(() => publishBatch(db, 'f'));
    expect((await pointer()).layers).to.deep.equal([batchCollection('f'), batchCollection('e'), batchCollection('d')]);
    expect(await run(() => rollbackActive(db))).to.deep.equal({ from: 'f', to: 'e' });
    const rolledBack = await pointer();
    expect(rolledBack).to.deep.include({ batch_id: 'e', layers: [batchCollection('e'), batchCollection('d')] });
    expect(await served(rolledBack)).to.deep.equal(viewE);
    const again = await run(() => rollbackActive(db)).catch((err: unknown) => err);
    expect(again).to.be.instanceOf(RollbackRefused);

    // Day g (over e again: f was rolled back), then pruning with 2 batches kept: g and f are
    // the newest, e is g's rollback target, and d is the full batch both read through.
    expect(await build('g')).to.deep.include({ layout: 'overlay', baseBatchId: 'e', toCompute: 1 });
    await run(() => publishBatch(db, 'g'));
    const pruned = await run(() => pruneBatches(db, settings.keepBatches));
    expect(pruned.dropped.sort()).to.deep.equal(['a', 'aged', 'c', 'e-full', 'refit'].sort());
    expect((await batchDoc('b')).status, 'an unchanged record is closed, nothing dropped').to.equal('pruned');
    expect(await recommendationCollections()).to.deep.equal(['d', 'e', 'f', 'g'].map(batchCollection).sort());
    expect((await batchDoc('d')).status).to.equal('superseded');
    const viewG = await served(await pointer());
    expect(viewG.get(6)?.computed_in).to.equal('g');

    // Compaction: g already reads through 2 overlays (the most allowed), so day h writes a
    // full batch, copying the unchanged users' lists from the manifests.
    await setHistory(7, [11, 12]);
    const h = await build('h');
    expect(h).to.deep.include({ layout: 'full', toCompute: 1, toCarry: 40, fullBecause: null });
    expect(h.compactBecause).to.equal('the base reads through 2 overlays (at most 2)');
    expect(await run(() => publishBatch(db, 'h'))).to.deep.include({ documents: 41 });
    expect((await pointer()).layers).to.deep.equal([batchCollection('h')]);
    const viewH = await served(await pointer());
    expect(await wholeBatch('h')).to.deep.equal(viewH);
    for (const [user, list] of viewG) if (user !== 7) expect(viewH.get(user), `user ${user}`).to.deep.equal({ ...list, batch_id: 'h' });
    // g is still h's rollback target, so its chain stays...
    await run(() => pruneBatches(db, settings.keepBatches));
    expect(await recommendationCollections()).to.include.members(['d', 'e', 'g', 'h'].map(batchCollection));
    // ...until a newer batch makes h the rollback target: then the old chain goes whole.
    await setHistory(8, [13, 14]);
    expect(await build('i')).to.deep.include({ layout: 'overlay', baseBatchId: 'h' });
    await run(() => publishBatch(db, 'i'));
    await run(() => pruneBatches(db, settings.keepBatches));
    expect(await recommendationCollections()).to.deep.equal(['h', 'i'].map(batchCollection));

    // The share rule: overlays that would hold more than the share of users compact too.
    await setHistory(9, [15, 16]);
    await setHistory(10, [17, 18]);
    const heavy = await run(() => prepareBatch(db, { ...settings, maxOverlayShare: 0.05 }, { batchId: 'heavy', workflowId: 'wf-heavy', mode: 'incremental' }));
    expect(heavy).to.deep.include({ layout: 'full', toCompute: 2 });
    expect(heavy.compactBecause).to.equal('the overlays would hold 3 documents for 41 users (at most 0.05 of them)');
    await run(() => abandonBatch(db, 'heavy', 'test'));
  });

  it('a deleted track most lists hold: they are carried with it masked and a spare moved up, exactly the lists a full batch computes; rollback restores the mask', async () => {
    const spared = { spares: 2 };
    await build('m1', 'full', spared);
    await run(() => publishBatch(db, 'm1'));
    expect(await batchDoc('m1')).to.deep.include({ spares: 2, masked_tracks: [] });
    const stored = await db.collection<RecommendationDocument>(batchCollection('m1')).find().toArray();
    expect(
      stored.every((d) => d.count === 5 && sparesOf(d).length === 2),
      'k tracks served, 2 spares after them',
    ).to.equal(true);

    // The track most lists hold goes: every list keeps 5 live tracks of its 7, so none is recomputed.
    const holders = new Map<number, number>();
    for (const d of stored) for (const item of itemsOf(d)) holders.set(item.track_id, (holders.get(item.track_id) ?? 0) + 1);
    const [top, held] = [...holders].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] as [number, number];
    expect(held).to.be.greaterThan(10);
    await db.collection('tracks').deleteOne({ _id: String(top) as never });
    const m2 = await build('m2', 'incremental', spared);
    expect(m2).to.deep.include({ layout: 'overlay', toCompute: 0, toCarry: 41, unchanged: false });
    expect(await run(() => publishBatch(db, 'm2'))).to.deep.include({ computed: 0, documents: 0 });
    expect((await batchDoc('m2')).masked_tracks).to.deep.equal([top]);
    expect((await pointer()).masked_tracks).to.deep.equal([top]);
    const viewM2 = await served(await pointer());
    for (const list of viewM2.values())
      expect(itemsOf(list).map((i) => i.track_id))
        .to.have.lengthOf(5)
        .and.not.include(top);
    const full2 = await build('m2-full', 'full', spared);
    expect(full2.toCompute).to.equal(41);
    expect(listsOnly(viewM2)).to.deep.equal(listsOnly(await wholeBatch('m2-full')));
    await run(() => abandonBatch(db, 'm2-full', 'test'));
    // The same data again: nothing to publish, the mask is the same.
    expect(
      await run(() => prepareBatch(db, { ...settings, ...spared }, { batchId: 'm2-again', workflowId: 'wf-m2-again', mode: 'incremental' })),
    ).to.deep.include({ unchanged: true });

    // Two more of the most held go: a list that held all three has only 4 of its 7 left and is computed again.
    const next = [...holders]
      .filter(([t]) => t !== top)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, 2)
      .map(([t]) => t);
    for (const t of next) await db.collection('tracks').deleteOne({ _id: String(t) as never });
    const gone = new Set([top, ...next]);
    const outOfSpares = stored.filter(
      (d) =>
        itemsOf(d)
          .concat(sparesOf(d))
          .filter((i) => gone.has(i.track_id)).length > 2,
    ).length;
    expect(outOfSpares, 'some lists run out of spares').to.be.greaterThan(0);
    const m3 = await build('m3', 'incremental', spared);
    expect(m3).to.deep.include({ layout: 'overlay', toCompute: outOfSpares });
    await run(() => publishBatch(db, 'm3'));
    const viewM3 = await served(await pointer());
    const full3 = await build('m3-full', 'full', spared);
    expect(listsOnly(viewM3)).to.deep.equal(listsOnly(await wholeBatch('m3-full')));
    await run(() => abandonBatch(db, 'm3-full', 'test'));
    expect((await batchDoc('m3')).masked_tracks?.every((t) => gone.has(t))).to.equal(true);

    // Rolled back, m2 is served with m2's mask.
    expect(await run(() => rollbackActive(db))).to.deep.equal({ from: 'm3', to: 'm2' });
    expect((await pointer()).masked_tracks).to.deep.equal([top]);
    expect(await served(await pointer())).to.deep.equal(viewM2);
    expect(full3.toCompute).to.equal(41);
  });
});
