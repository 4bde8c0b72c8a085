import { expect } from 'chai';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { registerModel, setAlias } from '../../stores/modelRegistry.js';
import { findList } from '../../activities/recommend/lookup.js';
import {
  BATCHES,
  MANIFESTS,
  activeState,
  batchCollection,
  itemsOf,
  layersOf,
  servedList,
  sparesOf,
  type BatchDocument,
  type RecommendationDocument,
  type RecommendedItem,
} from '../../stores/recommendations.js';
import { encodeItems } from '../../stores/recommendedItems.js';
import type { Config } from '../../config/config.js';
import { interactionsFromLists } from '../../models/interactions.js';
import { fitItemKnn } from '../../models/itemKnn.js';
import { createService } from '../../service/server.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import type { recommend } from '../../workflows/recommend.js';
import type { RecommendInput } from '../../contracts/workflows.js';
import type { RecommendResult } from '../../contracts/recommend.js';
import { runCli } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { withWorker } from '../support/withWorker.js';

// Recommendations for real: the daily pipeline's recommend step, batches, the pointer,
// carry-over, rollback and the HTTP API, on Temporal and the database.

const DATE = '2025-01-03';

describe('recommendations, end to end', function () {
  this.timeout(300_000);
  let stack: TestStack;
  const sims: Simulator[] = [];
  const servers: Server[] = [];

  before(async () => {
    stack = await getTestStack();
  });
  after(async () => {
    await Promise.all(sims.map((s) => s.close()));
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function setup(name: string, sizes: { tracks: number; users: number; listenHistory: number }, recommend: Partial<Config['recommend']> = {}) {
    const sim = createSimulator({ seed: `recommend-${name}`, ...sizes });
    sims.push(sim);
    const base = stack.config();
    const config: Config = {
      ...base,
      apiUrl: await sim.listen(0),
      mongodbDb: `${stack.mongodbDb}_rec_${name}`,
      taskQueue: `recommend-${process.pid}-${name}`,
      http: { ...base.http, timeoutMs: 2_000, backoffMs: 20, maxAttempts: 3 },
      recommend: { ...base.recommend, k: 10, chunkSize: 100, ...recommend },
    };
    return { sim, config, db: (await stack.mongo()).db(config.mongodbDb) };
  }

  const daily = (client: Client, config: Config, date: string) =>
    client.workflow.execute<typeof dailyPipeline>('dailyPipeline', { workflowId: `daily-${date}`, taskQueue: config.taskQueue, args: [{ date }] });
  const recommendRun = (client: Client, config: Config, input: RecommendInput, id: string) =>
    client.workflow.execute<typeof recommend>('recommend', { workflowId: id, taskQueue: config.taskQueue, args: [input] });
  const batchDocs = async (db: Db, batchId: string) => {
    const docs = await db.collection<RecommendationDocument>(`recommendations_${batchId}`).find().toArray();
    return new Map(docs.map((d) => [d.user_id, { ...d, items: itemsOf(d) }]));
  };
  /** What readers of a batch get for each of these users, through its layers (absent: no list). */
  const viewOf = async (db: Db, batchId: string, users: Iterable<number>) => {
    const batch = (await db.collection<BatchDocument>(BATCHES).findOne({ _id: batchId })) as BatchDocument;
    const pointer = { batch_id: batchId, collection: batch.collection, layers: layersOf(batch).map(batchCollection), masked_tracks: batch.masked_tracks ?? [] };
    const view = new Map<number, Listed>();
    for (const user of users) {
      const doc = await findList(db, pointer, user);
      if (doc) view.set(user, { ...doc, items: itemsOf(doc) });
    }
    return view;
  };
  /** Every per-user document and manifest stored, as text: what "nothing written" is checked against. */
  const perUserState = async (db: Db) => {
    const names = (await db.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((n) => n.startsWith('recommendations_'))
      .sort();
    const parts: unknown[] = [];
    for (const name of [...names, MANIFESTS]) parts.push(name, await db.collection(name).find().sort({ _id: 1 }).toArray());
    return JSON.stringify(parts);
  };
  const served = (sim: Simulator, name: 'tracks' | 'users' | 'listen_history') => sim.served(name).map((t) => JSON.parse(t) as Record<string, unknown>);
  const historiesOf = (sim: Simulator) => new Map(served(sim, 'listen_history').map((h) => [h.user_id as number, h.items as number[]]));
  const ids = (records: Record<string, unknown>[]) => new Set(records.map((r) => r.id as number));

  /** Every list: k live tracks, none already heard, no repeats; cold start exactly for users without history. */
  type Listed = Omit<RecommendationDocument, 'items'> & { items: RecommendedItem[] };
  function expectSound(docs: Map<number, Listed>, sim: Simulator, k: number): void {
    const live = ids(served(sim, 'tracks'));
    const histories = historiesOf(sim);
    expect([...docs.keys()].sort((a, b) => a - b)).to.deep.equal([...ids(served(sim, 'users'))].sort((a, b) => a - b));
    for (const [user, doc] of docs) {
      const tracks = doc.items.map((i) => i.track_id);
      const heard = histories.get(user) ?? [];
      expect(tracks, `user ${user}`).to.have.length(k);
      expect(new Set(tracks).size, `user ${user}: repeats`).to.equal(k);
      expect(
        tracks.filter((t) => heard.includes(t)),
        `user ${user}: heard tracks`,
      ).to.deep.equal([]);
      expect(
        tracks.filter((t) => !live.has(t)),
        `user ${user}: tombstoned tracks`,
      ).to.deep.equal([]);
      expect(doc.cold_start, `user ${user}: cold start`).to.equal(heard.filter((t) => live.has(t)).length === 0);
      for (const item of doc.items)
        expect(
          item.because.filter((b) => !heard.includes(b)),
          `user ${user}: reasons name heard tracks`,
        ).to.deep.equal([]);
    }
  }

  it('the daily pipeline publishes one list per live user, cold start for users without history', async () => {
    const { sim, config, db } = await setup('daily', { tracks: 300, users: 300, listenHistory: 250 });
    const result = await withWorker(config, (client) => daily(client, config, DATE));
    expect(result.recommendations?.status).to.equal('published');
    const r = result.recommendations?.result;
    expect(r).to.deep.include({
      users: 300,
      computed: 300,
      carried: 0,
      coldStart: 50,
      chunks: 3,
      mode: 'incremental',
      fullBecause: 'no batch is active yet',
      previousBatchId: null,
    });
    expect(r?.model).to.match(/^most-popular@auto-[0-9a-f]{16}$/);
    const state = await activeState(db);
    expect(state?.batch_id).to.equal(r?.batchId);
    const docs = await batchDocs(db, r?.batchId as string);
    expectSound(docs, sim, 10);
    // MostPopular: everyone with history gets the most listened tracks they have not heard.
    const counts = new Map<number, number>();
    for (const items of historiesOf(sim).values()) for (const t of items) counts.set(t, (counts.get(t) ?? 0) + 1);
    const someone = [...docs.values()].find((d) => !d.cold_start) as Listed;
    expect(someone.items.map((i) => i.score)).to.deep.equal(someone.items.map((i) => counts.get(i.track_id) ?? 0));
    expect(someone.items.every((i, n) => n === 0 || (someone.items[n - 1] as { score: number }).score >= i.score)).to.equal(true);
    const run = await db.collection('pipeline_runs').findOne({ _id: `daily-${DATE}` as never });
    expect(run?.recommendations).to.deep.include({ status: 'published', workflowId: `daily-${DATE}/recommend` });
    // The next day, nothing changed upstream: the step publishes nothing, writes no list, and says so.
    const before = await perUserState(db);
    const pointerBefore = await activeState(db);
    const quiet = await withWorker(config, (client) => daily(client, config, '2025-01-04'));
    expect(quiet.recommendations).to.deep.include({ status: 'unchanged', workflowId: 'daily-2025-01-04/recommend' });
    expect(quiet.recommendations?.result).to.deep.include({
      status: 'unchanged',
      batchId: r?.batchId,
      recordId: quiet.recommendations?.result?.recordId,
      model: r?.model,
      users: 300,
      computed: 0,
      carried: 300,
      documents: 0,
      chunks: 0,
    });
    expect(await perUserState(db), 'no list, marker or manifest written').to.equal(before);
    expect(await activeState(db)).to.deep.equal(pointerBefore);
    const quietRun = await db.collection('pipeline_runs').findOne({ _id: 'daily-2025-01-04' as never });
    expect(quietRun?.recommendations).to.deep.include({ status: 'unchanged' });
    const report = await runCli(['status'], stack.env({ MONGODB_DB: config.mongodbDb }));
    expect(report.stdout).to.include(
      `Recommendations: unchanged (300 users, no list to compute; model ${r?.model}): batch ${r?.batchId} stays active, nothing written`,
    );
    const again = quiet.recommendations?.result as RecommendResult;
    const record = await db.collection<BatchDocument>(BATCHES).findOne({ _id: again.recordId as string });
    expect(record?.status).to.equal('unchanged');
    // No merge wrote anything since the active batch was planned: settled by it, the data was not read again.
    expect(record?.settled_by).to.equal(r?.batchId);
    expect(record?.data_version)
      .to.be.a('string')
      .and.to.equal((await db.collection<BatchDocument>(BATCHES).findOne({ _id: r?.batchId as string }))?.data_version);

    // A champion whose artifact is gone: the step fails, the run fails and alerts, readers keep the active batch.
    await db.collection('model_versions').insertOne({ _id: 'broken@1', name: 'broken', version: 1, family: 'item-knn' } as never);
    await db.collection('model_aliases').insertOne({ _id: 'champion', model_key: 'broken@1', moved_at: new Date(), reason: 'test' } as never);
    const failure = await withWorker(config, (client) => daily(client, config, '2025-01-05')).catch((e: Error) => e);
    expect(String((failure as { cause?: { message?: string } }).cause?.message))
      .to.include('recommendations failed')
      .and.to.include('model artifact broken@1 not found');
    expect((await activeState(db))?.batch_id).to.equal(r?.batchId);
    // It failed while planning: no batch was written, nothing is left behind.
    expect((await db.collection<BatchDocument>(BATCHES).find().toArray()).map((b) => b._id).sort()).to.deep.equal([r?.batchId, again.recordId].sort());
    const left = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).filter((n) => n.startsWith('recommendations_'));
    expect(left).to.deep.equal([`recommendations_${r?.batchId}`]);
    const alert = await db.collection('alerts').findOne({ key: 'recommend_failed', status: 'open' });
    expect(alert?.message).to.include('model artifact broken@1 not found');
    const stored = await db.collection('pipeline_runs').findOne({ _id: 'daily-2025-01-05' as never });
    expect(stored?.recommendations).to.deep.include({ status: 'failed' });
    expect(stored?.status, 'a backfill runs the date again').to.equal('FAILED');
    expect(await db.collection('alerts').countDocuments({ key: 'run_failed' })).to.equal(0);
  });

  it('item-kNN champion: incremental carry-over with exact counts, tombstoned tracks dropped, rollback, pruning', async () => {
    // Overlays up to every user: this run's change (a tenth of histories, tombstoned tracks) stays an overlay.
    const { sim, config, db } = await setup('knn', { tracks: 150, users: 400, listenHistory: 400 }, { keepBatches: 2, maxOverlayShare: 1 });
    const before = historiesOf(sim);
    // The champion: item-kNN fitted on today's histories (training lands with the model issue).
    const itemIds = Float64Array.from([...ids(served(sim, 'tracks'))].sort((a, b) => a - b));
    const index = new Map([...itemIds].map((id, i) => [id, i]));
    const model = fitItemKnn(
      interactionsFromLists(
        [...before.values()].map((items) => items.map((t) => index.get(t) as number)),
        itemIds.length,
      ),
      itemIds,
      { neighbors: 20 },
    );
    const version = await registerModel(db, { name: 'knn-test', model });
    await setAlias(db, 'champion', version._id, 'test');

    await withWorker(config, async (client) => {
      const first = await daily(client, config, DATE);
      const b1 = first.recommendations?.result;
      expect(b1).to.deep.include({ model: 'knn-test@1', users: 400, computed: 400, carried: 0, coldStart: 0 });
      const docs1 = await batchDocs(db, b1?.batchId as string);
      expectSound(docs1, sim, 10);
      expect([...docs1.values()].some((d) => d.items.some((i) => i.reason === 'similar' && i.because.length > 0))).to.equal(true);

      // Change the snapshot: 10% of histories rewritten, 5% of tracks and users deleted, new users.
      sim.mutate({ updated: 10, deleted: 5, added: 5 });
      const after = historiesOf(sim);
      const live = ids(served(sim, 'tracks'));
      const users = [...ids(served(sim, 'users'))];
      // Computed: new users, changed histories, and lists left with fewer than k live tracks
      // of their k + spares (the others are carried, their deleted tracks masked).
      const expectedComputed = users.filter((u) => {
        const old = docs1.get(u);
        if (!old || JSON.stringify(before.get(u) ?? []) !== JSON.stringify(after.get(u) ?? [])) return true;
        const all = old.items.concat(sparesOf(old));
        const dead = all.filter((i) => !live.has(i.track_id)).length;
        return dead > 0 && all.length - dead < 10 && all.length >= 10;
      });
      const maskedExpected = new Set(
        users
          .filter((u) => !expectedComputed.includes(u))
          .flatMap((u) => {
            const old = docs1.get(u) as Listed;
            return old.items.concat(sparesOf(old)).map((i) => i.track_id);
          })
          .filter((t) => !live.has(t)),
      );
      // Deleted users leave orphan histories: the health gate stops the daily run's step...
      const gated = await daily(client, config, '2025-01-04');
      expect(gated.recommendations).to.deep.include({ status: 'skipped', reason: 'failing checks: listen_history orphan_users:user_id, orphan_tracks:items' });
      expect((await activeState(db))?.batch_id).to.equal(b1?.batchId);
      // ...and a data scientist who accepts them runs the step by hand.
      const b2 = await recommendRun(client, config, {}, 'recommend-after-mutation');
      const removed = [...docs1.keys()].filter((u) => !users.includes(u));
      expect(b2).to.deep.include({
        users: users.length,
        computed: expectedComputed.length,
        carried: users.length - expectedComputed.length,
        previousBatchId: b1?.batchId,
        fullBecause: null,
      });
      expect(b2).to.deep.include({ status: 'published', layout: 'overlay', removed: removed.length, documents: expectedComputed.length + removed.length });
      expect(expectedComputed.length).to.be.within(40, users.length - 100);
      expect(removed.length).to.be.greaterThan(0);
      // The overlay holds only the recomputed users' lists and the removed users' markers...
      const written = (await db.collection<{ _id: string }>(batchCollection(b2.batchId)).find().toArray()).map((d) => Number(d._id)).sort((a, b) => a - b);
      expect(written).to.deep.equal([...expectedComputed, ...removed].sort((a, b) => a - b));
      // ...and readers of b2 get exactly one list per live user, none for removed users.
      const docs2 = await viewOf(db, b2.batchId, new Set([...docs1.keys(), ...users]));
      expectSound(docs2, sim, 10);
      const recomputed = new Set(expectedComputed);
      const mask = (await db.collection<BatchDocument>(BATCHES).findOne({ _id: b2.batchId }))?.masked_tracks ?? [];
      expect(mask, 'the deleted tracks carried lists hold').to.deep.equal([...maskedExpected].sort((a, b) => a - b));
      expect(mask.length).to.be.greaterThan(0);
      for (const [user, doc] of docs2) {
        if (recomputed.has(user)) expect(doc.computed_in, `user ${user}`).to.equal(b2?.batchId);
        else {
          const old = docs1.get(user) as Listed;
          const masked = servedList({ ...old, items: encodeItems(old.items) }, new Set(mask));
          expect(doc, `user ${user}`).to.deep.equal({ ...masked, items: itemsOf(masked), batch_id: b2?.batchId });
        }
      }

      // Rollback: the first batch is served again; a second rollback is refused.
      const rollback = await runCli(['recommend', 'rollback'], stack.env({ MONGODB_DB: config.mongodbDb }));
      expect(rollback.stdout).to.include(`batch ${b1?.batchId} is active again`);
      expect((await activeState(db))?.batch_id).to.equal(b1?.batchId);
      const refused = await runCli(['recommend', 'rollback'], stack.env({ MONGODB_DB: config.mongodbDb }));
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.include('no previous batch to roll back to');
      const status = await runCli(['recommend', 'status'], stack.env({ MONGODB_DB: config.mongodbDb }));
      expect(status.stdout).to.include(`Active batch ${b1?.batchId}`).and.to.include('rolled_back');

      // A full run, then a day with nothing changed: unchanged, nothing pruned (b2, kept, reads through b1).
      const full = await recommendRun(client, config, { mode: 'full' }, 'recommend-full');
      expect(full).to.deep.include({
        computed: users.length,
        carried: 0,
        previousBatchId: b1?.batchId,
        fullBecause: 'a full run was asked for',
        layout: 'full',
        documents: users.length,
      });
      expect(full.pruned).to.deep.equal([]);
      const next = await recommendRun(client, config, {}, 'recommend-next');
      expect(next).to.deep.include({ status: 'unchanged', batchId: full.batchId, computed: 0, carried: users.length, documents: 0, pruned: [] });
      // Asked-for users are recomputed even if unchanged: an overlay of their two lists. With
      // keepBatches = 2 the oldest batches are then dropped, collections and all.
      const forced = await recommendRun(client, config, { users: [users[0] as number, users[1] as number] }, 'recommend-forced');
      expect(forced).to.deep.include({ computed: 2, carried: users.length - 2, layout: 'overlay', documents: 2, previousBatchId: full.batchId });
      expect(forced.pruned.sort()).to.deep.equal([b1?.batchId, b2?.batchId].sort());
      const collections = (await db.listCollections({}, { nameOnly: true }).toArray())
        .map((c) => c.name)
        .filter((n) => n.startsWith('recommendations_'))
        .sort();
      expect(collections).to.deep.equal([`recommendations_${full.batchId}`, `recommendations_${forced.batchId}`].sort());
      const statuses = Object.fromEntries((await db.collection<BatchDocument>(BATCHES).find().toArray()).map((b) => [b._id, b.status]));
      expect(statuses).to.deep.equal({
        [b1?.batchId as string]: 'pruned',
        [b2?.batchId as string]: 'pruned',
        [next.recordId as string]: 'pruned',
        [full.batchId]: 'superseded',
        [forced.batchId]: 'published',
      });
      const fullDocs = await batchDocs(db, full.batchId);
      const forcedView = await viewOf(db, forced.batchId, users);
      for (const [user, doc] of forcedView) {
        if (user === users[0] || user === users[1])
          expect(doc, `user ${user}`).to.deep.include({ computed_in: forced.batchId, items: fullDocs.get(user)?.items });
        else expect(doc, `user ${user}`).to.deep.equal({ ...fullDocs.get(user), batch_id: forced.batchId });
      }
      // Rollback across the overlay: the full batch is served again.
      const back = await runCli(['recommend', 'rollback'], stack.env({ MONGODB_DB: config.mongodbDb }));
      expect(back.stdout).to.include(`batch ${full.batchId} is active again`);
      expect(await activeState(db)).to.deep.include({ batch_id: full.batchId, layers: [batchCollection(full.batchId)] });
      const shown = await runCli(['recommend', 'show', String(users[2])], stack.env({ MONGODB_DB: config.mongodbDb }));
      expect(shown.stdout).to.include(`User ${users[2]}, batch ${full.batchId}`);
      const again = await recommendRun(client, config, { users: [users[0] as number, users[1] as number] }, 'recommend-forced-again');
      expect(again).to.deep.include({ layout: 'overlay', documents: 2, previousBatchId: full.batchId });

      const error = await recommendRun(client, config, { users: [999_999_999] }, 'recommend-unknown').catch((e: Error) => e);
      expect(String((error as { cause?: { message?: string } }).cause?.message)).to.include('not live users: 999999999');
      expect((await activeState(db))?.batch_id).to.equal(again.batchId);
    });
  });

  it('serves the active batch over HTTP; a reader polling while a batch is published never sees a mix', async () => {
    const { sim, config, db } = await setup('api', { tracks: 200, users: 600, listenHistory: 550 }, { chunkSize: 100, maxOverlayShare: 1 });
    const server = createService({ db, pointerTtlMs: 0 });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async (path: string, init?: RequestInit) => {
      const res = await fetch(`${base}${path}`, init);
      return {
        status: res.status,
        body: res.headers.get('content-type')?.includes('json') && init?.method !== 'HEAD' ? ((await res.json()) as Record<string, unknown>) : null,
      };
    };

    expect((await get('/users/1/recommendations')).status, 'nothing published yet').to.equal(503);
    const users = [...ids(served(sim, 'users'))];
    await withWorker(config, async (client) => {
      const first = (await daily(client, config, DATE)).recommendations?.result as RecommendResult;
      const user = users[0] as number;
      const ok = await get(`/users/${user}/recommendations?limit=3`);
      expect(ok.status).to.equal(200);
      expect(ok.body).to.deep.include({ user_id: user, batch_id: first.batchId, model: first.model });
      expect(ok.body?.items).to.have.length(3);
      expect((await get(`/users/${user}/recommendations`)).body?.items).to.have.length(10);
      expect((await get(`/users/${user}/recommendations?limit=100`)).body?.items).to.have.length(10);
      expect((await get(`/users/${user}/recommendations`, { method: 'HEAD' })).status).to.equal(200);
      expect((await get('/users/999999999/recommendations')).status).to.equal(404);
      // A dot-segment is resolved away before routing: no route.
      expect((await get('/users/%2e%2e/recommendations')).status).to.equal(404);
      for (const bad of ['abc', '0', '-1', '1.5', '1e3', '%2e%2e%2f', '99999999999999999999', '%7B%22%24gt%22%3A%22%22%7D', '', '%']) {
        expect((await get(`/users/${bad}/recommendations`)).status, `id ${bad}`).to.equal(400);
      }
      for (const bad of ['0', '101', 'x', '-5', '1.5', '', '1&limit=2', '%7B%22%24gt%22%3A1%7D']) {
        expect((await get(`/users/${user}/recommendations?limit=${bad}`)).status, `limit ${bad}`).to.equal(400);
      }
      expect((await get(`/users/${user}/recommendations`, { method: 'POST' })).status).to.equal(405);
      expect((await get('/users/1/recommendations/extra')).status).to.equal(404);
      const health = await get('/health');
      expect(health.body).to.deep.include({
        status: 'ok',
        recommendations: { batch_id: first.batchId, switched_at: (await activeState(db))?.switched_at.toISOString() },
      });

      // Poll while a full batch is computed and published.
      const firstDocs = await batchDocs(db, first.batchId);
      const seen: { batch: string; status: number; user: number; items: unknown }[] = [];
      let stop = false;
      const poller = (async () => {
        for (let n = 0; !stop; n++) {
          const u = users[n % users.length] as number;
          const res = await get(`/users/${u}/recommendations`);
          seen.push({ batch: String(res.body?.batch_id), status: res.status, user: u, items: res.body?.items });
        }
      })();
      const second = await recommendRun(client, config, { mode: 'full' }, 'recommend-api-2');
      while (!seen.some((s) => s.batch === second.batchId)) await new Promise((resolve) => setImmediate(resolve));
      stop = true;
      await poller;
      const secondDocs = await batchDocs(db, second.batchId);
      expect(seen.every((s) => s.status === 200)).to.equal(true);
      const switchedAt = seen.findIndex((s) => s.batch === second.batchId);
      expect(switchedAt, 'polls answered from the old batch while the new one was written').to.be.greaterThan(10);
      expect(seen.slice(0, switchedAt).every((s) => s.batch === first.batchId)).to.equal(true);
      expect(seen.slice(switchedAt).every((s) => s.batch === second.batchId)).to.equal(true);
      // Every answer is that batch's whole list for the user.
      for (const s of seen) expect(s.items).to.deep.equal((s.batch === first.batchId ? firstDocs : secondDocs).get(s.user)?.items);

      // A changed day: an overlay on the second batch. Over HTTP every live user gets the
      // overlay's list or the second batch's, named as the overlay; removed users get 404.
      sim.mutate({ updated: 2, deleted: 1, added: 1 });
      const gated = await daily(client, config, '2025-01-04');
      const third =
        gated.recommendations?.status === 'published'
          ? (gated.recommendations.result as RecommendResult)
          : await recommendRun(client, config, {}, 'recommend-api-3');
      expect(third).to.deep.include({ status: 'published', layout: 'overlay', previousBatchId: second.batchId });
      const live = new Set(ids(served(sim, 'users')));
      const gone = users.filter((u) => !live.has(u));
      expect(gone.length).to.be.greaterThan(0);
      const overlay = new Map((await db.collection<RecommendationDocument>(batchCollection(third.batchId)).find().toArray()).map((d) => [d.user_id, d]));
      expect(overlay.size)
        .to.equal(third.documents)
        .and.to.equal(third.computed + (third.removed as number))
        .and.to.be.below(live.size);
      expect(third.removed).to.equal(gone.length);
      for (const user of new Set([...users, ...live])) {
        const res = await get(`/users/${user}/recommendations`);
        if (!live.has(user)) {
          expect(res.status, `removed user ${user}`).to.equal(404);
          continue;
        }
        expect(res.status, `user ${user}`).to.equal(200);
        const own = overlay.get(user);
        expect(res.body, `user ${user}`).to.deep.include({ batch_id: third.batchId, computed_in: own ? third.batchId : secondDocs.get(user)?.computed_in });
        expect(res.body?.items, `user ${user}`).to.deep.equal(own ? itemsOf(own) : secondDocs.get(user)?.items);
      }
    });
  });
});
