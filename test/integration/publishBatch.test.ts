import { expect } from 'chai';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Db } from 'mongodb';
import { prepareBatch } from '../../activities/recommend/prepare.js';
import { abandonBatch, publishBatch } from '../../activities/recommend/publish.js';
import { scoreChunk } from '../../activities/recommend/scoreChunk.js';
import { ScoringPool } from '../../models/scoringPool.js';
import { findList } from '../../activities/recommend/lookup.js';
import {
  BATCHES,
  activeState,
  batchCollection,
  itemsOf,
  type BatchDocument,
  type RecommendationDocument,
  type StateDocument,
} from '../../stores/recommendations.js';
import { registerModel, setAlias } from '../../stores/modelRegistry.js';
import { interactionsFromLists } from '../../models/interactions.js';
import { fitMostPopular } from '../../models/mostPopular.js';
import { getTestStack } from '../support/testStack.js';
import { defaultRecommendSettings } from '../../config/config.js';

// The recommendation activities against the real MongoDB-protocol server: a batch is
// published only whole and verified, never over a batch published after it was planned,
// and a chunk scored twice writes nothing twice.

describe('recommendation batches (real MongoDB-protocol server)', function () {
  this.timeout(120_000);
  let db: Db;
  const pool = new ScoringPool(1);
  const settings = { ...defaultRecommendSettings(), k: 5, chunkSize: 10 };
  const run = <R>(fn: () => Promise<R>): Promise<R> => new MockActivityEnvironment().run(fn) as Promise<R>;

  before(async () => {
    const stack = await getTestStack();
    db = (await stack.mongo()).db(`${stack.mongodbDb}_publish`);
    // 25 users over 30 tracks; users 21-25 have no history.
    await db.collection('tracks').insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: String(i + 1), id: i + 1, genres: 'rock' })) as never[]);
    await db.collection('users').insertMany(Array.from({ length: 25 }, (_, i) => ({ _id: String(i + 1), id: i + 1, favorite_genres: 'Rock' })) as never[]);
    await db.collection('raw_listen_history').insertMany(
      Array.from({ length: 20 }, (_, i) => ({
        _id: String(i + 1),
        record: { user_id: i + 1, items: [1 + (i % 30), 1 + ((i * 7) % 30), 1 + ((i * 13 + 5) % 30)] },
        deleted_at: null,
      })) as never[],
    );
  });
  after(() => pool.close());

  /** Plans and scores a batch, without publishing it. */
  async function build(batchId: string, mode: 'full' | 'incremental' = 'full') {
    const plan = await run(() => prepareBatch(db, settings, { batchId, workflowId: `wf-${batchId}`, mode }));
    for (let chunk = 0; chunk < plan.chunks; chunk++) await run(() => scoreChunk(db, pool, { batchId, chunk }));
    return plan;
  }
  const failureType = (err: unknown) => (err as { type?: string }).type;

  it('publishes a whole batch; a chunk scored twice writes each user once', async () => {
    const plan = await build('a');
    expect(plan).to.deep.include({ users: 25, chunks: 3, toCompute: 25, toCarry: 0, baseBatchId: null });
    // Chunk 2 holds users 21-25, who have no history.
    const again = await run(() => scoreChunk(db, pool, { batchId: 'a', chunk: 2 }));
    expect(again).to.deep.equal({ chunk: 2, users: 5, computed: 5, carried: 0, coldStart: 5 });
    const published = await run(() => publishBatch(db, 'a'));
    expect(published).to.deep.equal({ batchId: 'a', users: 25, computed: 25, carried: 0, coldStart: 5, previousBatchId: null, documents: 25 });
    expect(await db.collection(batchCollection('a')).countDocuments()).to.equal(25);
    // Publishing again (a retried activity) changes nothing.
    expect(await run(() => publishBatch(db, 'a'))).to.deep.equal(published);
    expect((await activeState(db))?.batch_id).to.equal('a');
  });

  it('refuses to publish over a batch published after it was planned, and its batch is dropped', async () => {
    await build('b');
    await build('c');
    await run(() => publishBatch(db, 'c'));
    const conflict = await run(() => publishBatch(db, 'b')).catch((e: unknown) => e);
    expect(failureType(conflict)).to.equal('PublishConflict');
    expect((conflict as Error).message, (conflict as Error).message).to.include('batch c was published after this batch was planned on a');
    await run(() => abandonBatch(db, 'b', (conflict as Error).message));
    expect((await db.collection<BatchDocument>(BATCHES).findOne({ _id: 'b' }))?.status).to.equal('failed');
    expect(await db.listCollections({ name: batchCollection('b') }).toArray()).to.have.length(0);
    expect(await activeState(db)).to.deep.include({ batch_id: 'c', previous_batch_id: 'a' });
  });

  it('refuses a batch that is not whole: a missing document or a missing chunk', async () => {
    await build('d');
    await db.collection(batchCollection('d')).deleteOne({ _id: '7' as never });
    const missingDoc = await run(() => publishBatch(db, 'd')).catch((e: unknown) => e);
    expect(failureType(missingDoc)).to.equal('BatchUnverified');
    expect((missingDoc as Error).message).to.include('planned 25 users, manifests hold 25, the collection 24 documents');

    const plan = await run(() => prepareBatch(db, settings, { batchId: 'e', workflowId: 'wf-e', mode: 'full' }));
    await run(() => scoreChunk(db, pool, { batchId: 'e', chunk: 0 }));
    const missingChunk = await run(() => publishBatch(db, 'e')).catch((e: unknown) => e);
    expect(failureType(missingChunk)).to.equal('BatchIncomplete');
    expect((missingChunk as Error).message).to.include(`chunk 1 of ${plan.chunks} has no results`);
    expect((await activeState(db))?.batch_id).to.equal('c');
  });

  it('recomputes everyone for a new model; then carries over every unchanged user and recomputes a changed one', async () => {
    // A registered champion: a model that stays the same while the listens change.
    const histories = await db.collection('raw_listen_history').find().toArray();
    const itemIds = Float64Array.from({ length: 30 }, (_, i) => i + 1);
    const model = fitMostPopular(
      interactionsFromLists(
        histories.map((h) => (h.record.items as number[]).map((t) => t - 1)),
        30,
      ),
      itemIds,
    );
    await setAlias(db, 'champion', (await registerModel(db, { name: 'popular-test', model }))._id, 'test');
    expect(await build('f', 'incremental')).to.deep.include({
      baseBatchId: 'c',
      toCompute: 25,
      toCarry: 0,
      fullBecause: 'the model changed (' + (await activeBatchModel()) + ' -> popular-test@1)',
    });
    await run(() => publishBatch(db, 'f'));

    await db.collection('raw_listen_history').updateOne({ _id: '3' as never }, { $set: { 'record.items': [30, 29, 28] } });
    expect(await build('g', 'incremental')).to.deep.include({ baseBatchId: 'f', toCompute: 1, toCarry: 24, fullBecause: null, layout: 'overlay', removed: 0 });
    expect(await run(() => publishBatch(db, 'g'))).to.deep.include({ users: 25, computed: 1, carried: 24, documents: 1 });
    // The overlay holds the one list it computed; the others are read through to f.
    expect(await db.collection(batchCollection('g')).countDocuments()).to.equal(1);
    const state = (await activeState(db)) as StateDocument;
    expect(state.layers).to.deep.equal([batchCollection('g'), batchCollection('f')]);
    const three = await findList(db, state, 3);
    expect(three).to.deep.include({ computed_in: 'g', batch_id: 'g' });
    expect(itemsOf(three as RecommendationDocument).map((i) => i.track_id)).to.not.include.members([28, 29, 30]);
    const four = await findList(db, state, 4);
    expect(four).to.deep.include({ computed_in: 'f', batch_id: 'g', items: (await db.collection(batchCollection('f')).findOne({ _id: '4' as never }))?.items });
  });

  async function activeBatchModel(): Promise<string> {
    const state = await activeState(db);
    return ((await db.collection<BatchDocument>(BATCHES).findOne({ _id: state?.batch_id as string })) as BatchDocument).model.key;
  }
});
