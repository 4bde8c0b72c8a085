import { fitMostPopular } from '../../models/mostPopular.js';
import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { decodeModel, encodeModel, modelDigest } from '../../models/artifact.js';
import type { RecommenderModel } from '../../models/types.js';
import { aliasRef, artifactExists, championRef, loadModel, rememberModel, saveArtifact } from '../../stores/modelRegistry.js';
import { fromBinary, toBinary } from '../../stores/binary.js';
import { Growable } from '../../models/growable.js';
import { readLiveData } from './liveData.js';
import { dataVersion } from '../ingest/dataVersion.js';
import { inputHash } from './inputs.js';
import type { RecommendSettings } from '../../config/recommendSettings.js';
import {
  ACTIVE_ID,
  BATCHES,
  CHALLENGER_ID,
  BATCH_ID,
  INPUTS,
  MANIFESTS,
  batchCollection,
  chunkId,
  contextId,
  layersOf,
  slotState,
  type BatchDocument,
  type ContextDocument,
  type InputDocument,
  type ManifestDocument,
} from '../../stores/recommendations.js';
import type { ModelRef, BatchLayout, Slot } from '../../contracts/recommend.js';
import type { BatchPlan } from '../../contracts/recommend.js';

export interface PrepareInput {
  batchId: string;
  workflowId: string;
  /** incremental: carry over users whose inputs did not change (with the same model). */
  mode: 'full' | 'incremental';
  /** Users to recompute even if unchanged. */
  users?: number[];
  /** active (default): the champion's batch for everyone; challenger: the challenger's batch for the canary. */
  slot?: Slot;
}

/**
 * Plans a batch: picks the model (the registry's champion; MostPopular fitted on today's
 * listens until there is one), reads the live catalogue, users and histories once,
 * decides who is computed and who is carried over, and writes one input document per
 * chunk of users (ascending ids) for the scoring activities. Running it twice writes
 * the same plan.
 */
export async function prepareBatch(db: Db, settings: RecommendSettings, input: PrepareInput): Promise<BatchPlan> {
  if (!BATCH_ID.test(input.batchId))
    throw ApplicationFailure.nonRetryable(`batch id must match ${BATCH_ID}, got ${JSON.stringify(input.batchId)}`, 'InvalidInput');
  const existing = await db.collection<BatchDocument>(BATCHES).findOne({ _id: input.batchId });
  if (existing && existing.status !== 'building') return planOf(existing, null);
  const beat = (stage: string, read: number) => Context.current().heartbeat({ stage, read });
  const slot = input.slot ?? ACTIVE_ID;
  const state = await slotState(db, slot);
  const base = state ? await db.collection<BatchDocument>(BATCHES).findOne({ _id: state.batch_id }) : null;
  const champion = slot === CHALLENGER_ID ? await aliasRef(db, 'challenger') : await championRef(db);
  if (!champion && slot === CHALLENGER_ID)
    throw ApplicationFailure.nonRetryable('no model is the challenger: promote one with `moovitamix models promote KEY --alias challenger`', 'NoChallenger');

  // No merge wrote anything since a plan over the active batch found nothing to do: the
  // same data gives the same answer, without reading it.
  const data = await dataVersion(db);
  const settled = await settledOn(db, settings, input, base, champion, data);
  if (settled && base) {
    const record: Omit<BatchDocument, '_id'> = {
      workflow_id: input.workflowId,
      model: base.model,
      mode: input.mode,
      slot,
      base_batch_id: base._id,
      k: settings.k,
      genre_boost: settings.genreBoost,
      chunk_size: settings.chunkSize,
      users: base.users,
      to_compute: 0,
      to_carry: base.users,
      created_at: new Date(),
      ...(base.model_fitted_at ? { model_fitted_at: base.model_fitted_at } : {}),
      data_version: data,
      settled_by: settled,
      status: 'unchanged',
      collection: batchCollection(input.batchId),
      chunks: 0,
      removed: 0,
    };
    if (existing) await dropInputs(db, existing);
    const closed = await closePlan(db, input.batchId, record);
    if (closed) return closed;
    log.info('recommendations unchanged: no merge wrote anything since', { batchId: input.batchId, active: base._id, settledBy: settled, dataVersion: data });
    return planOf({ _id: input.batchId, ...record }, null);
  }

  const { liveTracks, users, genres, position, tracksOf } = await readLiveData(db, beat);
  if (users.length === 0) throw ApplicationFailure.nonRetryable('there are no live users: ingest users before recommending', 'NothingToRecommend');

  // The model: the champion (the challenger for the canary), or MostPopular fitted on these listens.
  let model: RecommenderModel;
  let ref: ModelRef;
  let fittedAt: Date | undefined;
  if (champion) {
    ref = champion;
    model = await loadModel(db, champion.key);
  } else {
    const reused = input.mode === 'incremental' ? await reusableFallback(db, settings, base) : null;
    if (reused) ({ model, ref, fittedAt } = reused);
    else ({ model, ref } = await fallbackModel(db, liveTracks, users.length, tracksOf));
    fittedAt ??= new Date();
  }
  const itemOf = new Map<number, number>();
  model.itemIds.forEach((id, i) => itemOf.set(id, i));
  const live = new Uint8Array(model.itemIds.length);
  const itemGenres = new Uint8Array(model.itemIds.length);
  model.itemIds.forEach((id, i) => {
    const genre = liveTracks.get(id);
    if (genre !== undefined) {
      live[i] = 1;
      itemGenres[i] = genre;
    }
  });

  // Every user's input hash; who is carried over.
  const hashes = new Uint32Array(users.length * 2);
  for (let u = 0; u < users.length; u++) inputHash(tracksOf(u), genres[u] as number, hashes, u);
  const forced = new Set(input.users ?? []);
  const unknown = [...forced].filter((id) => !position.has(id));
  if (unknown.length > 0)
    throw ApplicationFailure.nonRetryable(
      `not live users: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''}`,
      'UnknownUsers',
    );

  let fullBecause: string | null = null;
  if (input.mode === 'full') fullBecause = 'a full run was asked for';
  else if (!base) fullBecause = 'no batch is active yet';
  else if (base.model.key !== ref.key) fullBecause = `the model changed (${base.model.key} -> ${ref.key})`;
  else if (base.k !== settings.k || base.genre_boost !== settings.genreBoost)
    fullBecause = `the settings changed (k ${base.k} -> ${settings.k}, genre boost ${base.genre_boost} -> ${settings.genreBoost})`;
  const carryFrom = new Int32Array(users.length).fill(-1);
  let removed: Float64Array = new Float64Array(0);
  let masked: number[] = [];
  if (fullBecause === null && base) {
    const carried = await markCarried(db, base, users, hashes, live, forced, carryFrom);
    removed = carried.removed;
    masked = carried.masked.map((item) => model.itemIds[item] as number).sort((a, b) => a - b);
  }
  const sameMask = sameNumbers(masked, base?.masked_tracks ?? []);
  let toCarry = 0;
  for (const c of carryFrom) if (c >= 0) toCarry++;
  const toCompute = users.length - toCarry;

  const common = {
    workflow_id: input.workflowId,
    model: ref,
    mode: input.mode,
    slot,
    base_batch_id: state?.batch_id ?? null,
    k: settings.k,
    genre_boost: settings.genreBoost,
    chunk_size: settings.chunkSize,
    spares: settings.spares,
    masked_tracks: masked,
    users: users.length,
    to_compute: toCompute,
    to_carry: toCarry,
    created_at: new Date(),
    ...(fittedAt ? { model_fitted_at: fittedAt } : {}),
    data_version: data,
  };
  if (fullBecause === null && base && toCompute === 0 && removed.length === 0 && sameMask) {
    // Every live user is served by the active batch from the same inputs: nothing to write
    // but this record, which also answers a retried attempt.
    if (existing) await dropInputs(db, existing);
    // Its collection is named but never created: pruning the record drops nothing served.
    const record: Omit<BatchDocument, '_id'> = { ...common, status: 'unchanged', collection: batchCollection(input.batchId), chunks: 0, removed: 0 };
    const closed = await closePlan(db, input.batchId, record);
    if (closed) return closed;
    log.info('recommendations unchanged: nothing to publish', { batchId: input.batchId, active: base._id, model: ref.key, users: users.length });
    return planOf({ _id: input.batchId, ...record }, null);
  }

  // An overlay on the base unless the chain is as deep or as heavy as allowed: then a full batch compacts it.
  let layout: BatchLayout = 'full';
  let compactBecause: string | null = null;
  const overlayDocuments = (base?.overlay_documents ?? 0) + toCompute + removed.length;
  if (fullBecause === null && base) {
    const depth = layersOf(base).length;
    if (depth > settings.maxOverlays) compactBecause = `the base reads through ${depth - 1} overlays (at most ${settings.maxOverlays})`;
    else if (overlayDocuments > settings.maxOverlayShare * users.length)
      compactBecause = `the overlays would hold ${overlayDocuments} documents for ${users.length} users (at most ${settings.maxOverlayShare} of them)`;
    else layout = 'overlay';
  }
  const overlay = layout === 'overlay';

  const chunkSize = settings.chunkSize;
  const chunks = Math.ceil(users.length / chunkSize);
  await db
    .collection<ContextDocument>(INPUTS)
    .replaceOne({ _id: contextId(input.batchId) }, { batch_id: input.batchId, live: toBinary(live), item_genres: toBinary(itemGenres) }, { upsert: true });
  let r = 0;
  for (let c = 0; c < chunks; c++) {
    const from = c * chunkSize;
    const to = Math.min(users.length, from + chunkSize);
    const carry = new Uint8Array(to - from);
    const offsets = new Growable((n) => new Int32Array(n));
    const items = new Growable((n) => new Int32Array(n));
    const chunkGenres = new Growable((n) => new Uint8Array(n));
    offsets.push(0);
    let carryChunks: [number, number] | null = null;
    for (let u = from; u < to; u++) {
      const old = carryFrom[u] as number;
      if (old >= 0) {
        carry[u - from] = 1;
        carryChunks = carryChunks ? [Math.min(carryChunks[0], old), Math.max(carryChunks[1], old)] : [old, old];
        continue;
      }
      // Only tracks the model knows can lead anywhere; the rest cannot be recommended either.
      for (const track of tracksOf(u)) {
        const item = itemOf.get(track);
        if (item !== undefined) items.push(item);
      }
      offsets.push(items.length);
      chunkGenres.push(genres[u] as number);
    }
    // Removed users below the next chunk's first id belong to this chunk (the last takes the rest).
    const firstRemoved = r;
    while (r < removed.length && (c === chunks - 1 || (removed[r] as number) < (users[to] as number))) r++;
    const doc: Omit<InputDocument, '_id'> = {
      batch_id: input.batchId,
      chunk: c,
      users: to - from,
      user_ids: toBinary(users.subarray(from, to)),
      input_hashes: toBinary(hashes.subarray(2 * from, 2 * to)),
      carry: toBinary(carry),
      hist_offsets: toBinary(offsets.view()),
      hist_items: toBinary(items.view()),
      genres: toBinary(chunkGenres.view()),
      carry_chunks: carryChunks,
      ...(overlay ? { overlay: true, removed: toBinary(removed.subarray(firstRemoved, r)) } : {}),
    };
    await db.collection<InputDocument>(INPUTS).replaceOne({ _id: chunkId(input.batchId, c) }, doc, { upsert: true });
    beat('inputs', c + 1);
  }

  const batch: Omit<BatchDocument, '_id'> = {
    ...common,
    status: 'building',
    collection: batchCollection(input.batchId),
    chunks,
    layout,
    // An overlay that only masks tracks holds no document: lookups need not read it (its collection is never made).
    layers: overlay && base ? [...(toCompute + removed.length > 0 ? [input.batchId] : []), ...layersOf(base)] : [input.batchId],
    overlay_documents: overlay ? overlayDocuments : 0,
    removed: overlay ? removed.length : 0,
  };
  const closed = await closePlan(db, input.batchId, batch);
  if (closed) return closed;
  log.info('recommendation batch planned', {
    batchId: input.batchId,
    model: ref.key,
    users: users.length,
    toCompute,
    toCarry,
    removed: removed.length,
    chunks,
    layout,
    fullBecause,
    compactBecause,
  });
  return planOf({ _id: input.batchId, ...batch }, fullBecause, compactBecause);
}

/**
 * Writes the plan's record over a batch still being built (an attempt that finishes late
 * never reopens a batch); returns the plan already closed, if another attempt closed it.
 */
async function closePlan(db: Db, batchId: string, record: Omit<BatchDocument, '_id'>): Promise<BatchPlan | null> {
  try {
    await db.collection<BatchDocument>(BATCHES).replaceOne({ _id: batchId, status: 'building' }, record, { upsert: true });
    return null;
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    const now = (await db.collection<BatchDocument>(BATCHES).findOne({ _id: batchId })) as BatchDocument;
    return planOf(now, null);
  }
}

/**
 * The plan over the active batch that already settled today's answer: the active batch
 * itself, or a run that found it unchanged, planned on the same data version with the
 * model and settings this run would use. Null when this run must read the data.
 */
async function settledOn(
  db: Db,
  settings: RecommendSettings,
  input: PrepareInput,
  base: BatchDocument | null,
  champion: ModelRef | null,
  data: string | null,
): Promise<string | null> {
  if (data === null || !base || input.mode !== 'incremental' || (input.users ?? []).length > 0) return null;
  if (base.k !== settings.k || base.genre_boost !== settings.genreBoost) return null;
  if (champion ? champion.key !== base.model.key : !(await fallbackFresh(db, settings, base))) return null;
  if (base.data_version === data) return base._id;
  const unchanged = await db.collection<BatchDocument>(BATCHES).find({ base_batch_id: base._id, status: 'unchanged' }).toArray();
  return unchanged.find((b) => b.data_version === data && b.model.key === base.model.key)?._id ?? null;
}

/** An earlier attempt's inputs, when this one finds nothing to compute. */
async function dropInputs(db: Db, batch: BatchDocument): Promise<void> {
  for (let c = 0; c < batch.chunks; c++) await db.collection<{ _id: string }>(INPUTS).deleteOne({ _id: chunkId(batch._id, c) });
  await db.collection<{ _id: string }>(INPUTS).deleteOne({ _id: contextId(batch._id) });
}

function planOf(batch: BatchDocument, fullBecause: string | null, compactBecause: string | null = null): BatchPlan {
  return {
    batchId: batch._id,
    collection: batch.collection,
    model: batch.model,
    mode: batch.mode,
    slot: batch.slot ?? ACTIVE_ID,
    baseBatchId: batch.base_batch_id,
    fullBecause,
    chunks: batch.chunks,
    users: batch.users,
    toCompute: batch.to_compute,
    toCarry: batch.to_carry,
    unchanged: batch.status === 'unchanged',
    layout: batch.layout ?? 'full',
    compactBecause,
    removed: batch.removed ?? 0,
  };
}

/**
 * A user is carried over when the base batch has a list for them computed from the same
 * inputs, they were not asked to be recomputed, and the list is still exact once its
 * tracks deleted since are masked: it keeps k live tracks (its spares move up), or it
 * holds fewer than k, every candidate there was. The base batch's manifests are sorted
 * by user id, as `users` is: one merge pass, which also finds the users the base serves
 * who are no longer live (`removed`, ascending). `masked`: the model items, no longer
 * live, that carried lists hold.
 */
async function markCarried(
  db: Db,
  base: BatchDocument,
  users: Float64Array,
  hashes: Uint32Array,
  live: Uint8Array,
  forced: Set<number>,
  carryFrom: Int32Array,
): Promise<{ removed: Float64Array; masked: number[] }> {
  let u = 0;
  const removed = new Growable((n) => new Float64Array(n));
  const masked = new Set<number>();
  for (let c = 0; c < base.chunks; c++) {
    // What carry-over compares: ids, input hashes and the lists' tracks (not their scores and reasons).
    const m = await db
      .collection<ManifestDocument>(MANIFESTS)
      .findOne({ _id: chunkId(base._id, c) }, { projection: { user_ids: 1, input_hashes: 1, offsets: 1, items: 1 } });
    if (!m) throw new Error(`base batch ${base._id} has no manifest for chunk ${c}`);
    const oldUsers = fromBinary(m.user_ids, Float64Array);
    const oldHashes = fromBinary(m.input_hashes, Uint32Array);
    const offsets = fromBinary(m.offsets, Int32Array);
    const items = fromBinary(m.items, Int32Array);
    for (let o = 0; o < oldUsers.length;) {
      const b = oldUsers[o] as number;
      const a = u < users.length ? (users[u] as number) : Infinity;
      if (a < b) u++;
      else if (b < a) {
        removed.push(b);
        o++;
      } else {
        const same = hashes[2 * u] === oldHashes[2 * o] && hashes[2 * u + 1] === oldHashes[2 * o + 1];
        if (same && !forced.has(a)) {
          const [from, to] = [offsets[o] as number, offsets[o + 1] as number];
          let dead = 0;
          for (let r = from; r < to; r++) if (live[items[r] as number] !== 1) dead++;
          if (dead === 0 || to - from - dead >= base.k || to - from < base.k) {
            carryFrom[u] = c;
            if (dead > 0) for (let r = from; r < to; r++) if (live[items[r] as number] !== 1) masked.add(items[r] as number);
          }
        }
        u++;
        o++;
      }
    }
    Context.current().heartbeat({ stage: 'carry-over', read: c + 1 });
  }
  return { removed: removed.view().slice(), masked: [...masked] };
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The active batch's auto MostPopular, while it is younger than the refresh interval. A
 * refit keyed by its counts would be a new model after any listen changed, and a new model
 * recomputes everyone; reused, it recomputes only the users whose inputs changed. Its
 * ranking ages by at most the interval (new tracks wait for the refit; tombstoned ones
 * are masked out as for any model).
 */
async function reusableFallback(
  db: Db,
  settings: RecommendSettings,
  base: BatchDocument | null,
): Promise<{ model: RecommenderModel; ref: ModelRef; fittedAt: Date } | null> {
  if (!base || !(await fallbackFresh(db, settings, base))) return null;
  return { model: await loadModel(db, base.model.key), ref: base.model, fittedAt: base.model_fitted_at ?? base.created_at };
}

/** The base's model is an auto MostPopular younger than the refresh interval, its artifact kept. */
async function fallbackFresh(db: Db, settings: RecommendSettings, base: BatchDocument): Promise<boolean> {
  if (!base.model.key.startsWith('most-popular@auto-') || settings.fallbackRefreshHours <= 0) return false;
  const fittedAt = base.model_fitted_at ?? base.created_at;
  if (Date.now() - fittedAt.getTime() >= settings.fallbackRefreshHours * 3600_000) return false;
  return artifactExists(db, base.model.key);
}

/** MostPopular on the live users' listens of live tracks, keyed by its content. */
async function fallbackModel(
  db: Db,
  liveTracks: Map<number, number>,
  nUsers: number,
  tracksOf: (u: number) => Float64Array,
): Promise<{ model: RecommenderModel; ref: ModelRef }> {
  const itemIds = Float64Array.from([...liveTracks.keys()].sort((a, b) => a - b));
  const itemOf = new Map<number, number>();
  itemIds.forEach((id, i) => itemOf.set(id, i));
  // The listens of live tracks as the model family reads them (rows of item indices), twice over the users: count, then fill.
  const offsets = new Int32Array(nUsers + 1);
  for (let u = 0; u < nUsers; u++) {
    let live = 0;
    for (const track of tracksOf(u)) if (itemOf.has(track)) live++;
    offsets[u + 1] = offsets[u]! + live;
  }
  const items = new Int32Array(offsets[nUsers]!);
  for (let u = 0, at = 0; u < nUsers; u++) {
    for (const track of tracksOf(u)) {
      const item = itemOf.get(track);
      if (item !== undefined) items[at++] = item;
    }
  }
  const model = fitMostPopular({ nUsers, nItems: itemIds.length, offsets, items }, itemIds);
  const bytes = encodeModel(model);
  const version = `auto-${modelDigest(bytes)}`;
  const key = `most-popular@${version}`;
  if (!(await artifactExists(db, key))) await saveArtifact(db, key, bytes);
  // Decoded from the bytes at hand (into shared memory, as scoring threads need it).
  return { model: rememberModel(key, decodeModel(bytes)), ref: { key, name: 'most-popular', version, family: 'most-popular' } };
}
