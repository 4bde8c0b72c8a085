import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { insertIgnoringDuplicates } from '../../stores/quarantine.js';
import type { ScoredChunk, ScoringContext } from '../../models/score.js';
import { BECAUSE_SLOTS, REASONS, type Reason } from '../../models/types.js';
import { loadModel } from '../../stores/modelRegistry.js';
import { fromBinary, packedBinary, sharedFromBinary, toBinary } from '../../stores/binary.js';
import { Growable } from '../../models/growable.js';
import { encodeItems } from '../../stores/recommendedItems.js';
import type { ScoringPool } from '../../models/scoringPool.js';
import {
  BATCHES,
  INPUTS,
  MANIFESTS,
  chunkId,
  contextId,
  type BatchDocument,
  type ContextDocument,
  type InputDocument,
  type LayerDocument,
  type ManifestDocument,
  type RecommendedItem,
} from '../../stores/recommendations.js';

export interface ScoreChunkInput {
  batchId: string;
  chunk: number;
}

export interface ChunkOutcome {
  chunk: number;
  users: number;
  computed: number;
  carried: number;
  coldStart: number;
}

/** Documents per insert: small enough to heartbeat often, big enough to amortise a round trip. */
const WRITE_BATCH = 1000;

/**
 * Scores one chunk of a batch and writes its users' documents: computed users on the
 * scoring threads, carried users copied from the base batch's manifests (a full batch) or
 * left to the base's layers (an overlay, which also marks the chunk's removed users). The manifest,
 * written last, marks the chunk done. A retried attempt resumes after the documents its
 * heartbeat says were written; documents are deterministic, so writing one twice is a
 * duplicate-key no-op.
 */
export async function scoreChunk(db: Db, pool: ScoringPool, input: ScoreChunkInput): Promise<ChunkOutcome> {
  const id = chunkId(input.batchId, input.chunk);
  const done = await db.collection<ManifestDocument>(MANIFESTS).findOne({ _id: id }, { projection: { users: 1, computed: 1, carried: 1, cold_start: 1 } });
  if (done)
    return {
      chunk: input.chunk,
      users: done.users,
      computed: done.computed,
      carried: done.carried,
      coldStart: countOnes(fromBinary(done.cold_start, Uint8Array)),
    };
  const batch = await db.collection<BatchDocument>(BATCHES).findOne({ _id: input.batchId });
  if (!batch) throw ApplicationFailure.nonRetryable(`recommendation batch ${input.batchId} does not exist`, 'NoBatch');
  if (batch.status !== 'building') throw ApplicationFailure.nonRetryable(`batch ${input.batchId} is ${batch.status}, not building`, 'BatchClosed');
  const doc = await db.collection<InputDocument>(INPUTS).findOne({ _id: id });
  if (!doc) throw ApplicationFailure.nonRetryable(`batch ${input.batchId} has no input for chunk ${input.chunk}`, 'NoInput');

  const context = await scoringContext(db, batch);
  const userIds = fromBinary(doc.user_ids, Float64Array);
  const carry = fromBinary(doc.carry, Uint8Array);
  const histOffsets = fromBinary(doc.hist_offsets, Int32Array);
  const toCompute = histOffsets.length - 1;
  const scored: ScoredChunk | null =
    toCompute > 0
      ? await pool.score(batch._id, context, {
          n: toCompute,
          histOffsets,
          histItems: fromBinary(doc.hist_items, Int32Array),
          genre: fromBinary(doc.genres, Uint8Array),
        })
      : null;
  const carried = doc.carry_chunks ? await carriedLists(db, batch.base_batch_id as string, doc.carry_chunks) : null;

  // Merge computed and carried users back into id order.
  const offsets = new Int32Array(doc.users + 1);
  const items = new Growable((n) => new Int32Array(n));
  const scores: number[] = [];
  const reasons = new Growable((n) => new Uint8Array(n));
  const because = new Growable((n) => new Int32Array(n));
  const coldStart = new Uint8Array(doc.users);
  const computedIn = new Uint16Array(doc.users);
  const computedInBatches = [batch._id];
  let next = 0;
  for (let u = 0; u < doc.users; u++) {
    let src: ScoredChunk;
    let row: number;
    if (carry[u] === 1) {
      const found = carried?.find(userIds[u] as number);
      if (!found) throw new Error(`user ${userIds[u]} is to be carried over but is not in base batch ${batch.base_batch_id}`);
      src = found.lists;
      row = found.row;
      const origin = found.computedIn;
      let index = computedInBatches.indexOf(origin);
      if (index < 0) index = computedInBatches.push(origin) - 1;
      computedIn[u] = index;
    } else {
      src = scored as ScoredChunk;
      row = next++;
    }
    coldStart[u] = src.coldStart[row] as number;
    for (let r = src.offsets[row] as number; r < (src.offsets[row + 1] as number); r++) {
      items.push(src.items[r] as number);
      scores.push(src.scores[r] as number);
      reasons.push(src.reasons[r] as number);
      for (let s = 0; s < BECAUSE_SLOTS; s++) because.push(src.because[r * BECAUSE_SLOTS + s] as number);
    }
    offsets[u + 1] = items.length;
  }

  // The serving documents, resuming where a previous attempt's heartbeat left off. An
  // overlay writes only the lists it computed (the base's layers serve the carried users)
  // and a marker for each removed user; a full batch writes every user's list.
  const itemIds = context.model.itemIds;
  const track = (item: number) => itemIds[item] as number;
  const collection = db.collection<LayerDocument>(batch.collection);
  const rows: number[] = [];
  for (let u = 0; u < doc.users; u++) if (!(doc.overlay && carry[u] === 1)) rows.push(u);
  const removed = doc.removed ? fromBinary(doc.removed, Float64Array) : new Float64Array(0);
  const total = rows.length + removed.length;
  const resumeAt = Math.min(total, Number((Context.current().info.heartbeatDetails as { written?: number } | undefined)?.written ?? 0));
  for (let from = resumeAt - (resumeAt % WRITE_BATCH); from < total; from += WRITE_BATCH) {
    const docs: LayerDocument[] = [];
    for (let n = from; n < Math.min(total, from + WRITE_BATCH); n++) {
      if (n >= rows.length) {
        const id = removed[n - rows.length] as number;
        docs.push({ _id: String(id), user_id: id, batch_id: batch._id, removed: true });
        continue;
      }
      const u = rows[n] as number;
      const list: RecommendedItem[] = [];
      for (let r = offsets[u] as number; r < (offsets[u + 1] as number); r++) {
        const causes: number[] = [];
        for (let s = 0; s < BECAUSE_SLOTS; s++) {
          const c = because.get(r * BECAUSE_SLOTS + s);
          if (c >= 0) causes.push(track(c));
        }
        list.push({
          track_id: track(items.get(r)),
          score: Math.round((scores[r] as number) * 1e6) / 1e6,
          reason: REASONS[reasons.get(r)] as Reason,
          because: causes,
        });
      }
      // The first k are served; the spares after them only in place of masked tracks.
      const served = list.slice(0, batch.k);
      const spares = list.slice(batch.k);
      docs.push({
        _id: String(userIds[u]),
        user_id: userIds[u] as number,
        batch_id: batch._id,
        model: batch.model.key,
        computed_in: computedInBatches[computedIn[u] as number] as string,
        cold_start: coldStart[u] === 1,
        count: served.length,
        items: encodeItems(served),
        ...(spares.length > 0 ? { spares: encodeItems(spares) } : {}),
      });
    }
    await insertIgnoringDuplicates(collection, docs);
    Context.current().heartbeat({ written: Math.min(total, from + WRITE_BATCH) });
  }

  const carriedCount = countOnes(carry);
  const manifest: Omit<ManifestDocument, '_id'> = {
    batch_id: batch._id,
    chunk: input.chunk,
    users: doc.users,
    user_ids: doc.user_ids,
    input_hashes: doc.input_hashes,
    // Packed: a chunk's lists are megabytes, written by every batch and read by the next.
    offsets: packedBinary(offsets),
    items: packedBinary(items.view()),
    scores: packedBinary(Float32Array.from(scores)),
    reasons: packedBinary(reasons.view()),
    because: packedBinary(because.view()),
    cold_start: toBinary(coldStart),
    computed_in: toBinary(computedIn),
    computed_in_batches: computedInBatches,
    computed: doc.users - carriedCount,
    carried: carriedCount,
  };
  await db.collection<ManifestDocument>(MANIFESTS).replaceOne({ _id: id }, manifest, { upsert: true });
  return { chunk: input.chunk, users: doc.users, computed: manifest.computed, carried: carriedCount, coldStart: countOnes(coldStart) };
}

const contexts = new Map<string, ScoringContext>();

/** The batch's model with today's live catalogue, built once per batch and process. */
async function scoringContext(db: Db, batch: BatchDocument): Promise<ScoringContext> {
  let context = contexts.get(batch._id);
  if (!context) {
    const doc = await db.collection<ContextDocument>(INPUTS).findOne({ _id: contextId(batch._id) });
    if (!doc) throw ApplicationFailure.nonRetryable(`batch ${batch._id} has no scoring context`, 'NoInput');
    // Scored to k plus the spares: what a list serves once some of its tracks are masked.
    context = {
      model: await loadModel(db, batch.model.key),
      live: sharedFromBinary(doc.live),
      itemGenre: sharedFromBinary(doc.item_genres),
      k: batch.k + (batch.spares ?? 0),
      genreBoost: batch.genre_boost,
    };
    if (context.live.length !== context.model.itemIds.length)
      throw new Error(`batch ${batch._id}: context of ${context.live.length} items for a model of ${context.model.itemIds.length}`);
    contexts.set(batch._id, context);
    while (contexts.size > 2) contexts.delete(contexts.keys().next().value as string);
  }
  return context;
}

/** The base batch's lists for the chunks named, searchable by user id. */
async function carriedLists(db: Db, baseBatchId: string, [first, last]: [number, number]) {
  const parts: { users: Float64Array; lists: ScoredChunk; computedIn: Uint16Array; names: string[] }[] = [];
  for (let c = first; c <= last; c++) {
    const m = await db.collection<ManifestDocument>(MANIFESTS).findOne({ _id: chunkId(baseBatchId, c) });
    if (!m) throw new Error(`base batch ${baseBatchId} has no manifest for chunk ${c}`);
    parts.push({
      users: fromBinary(m.user_ids, Float64Array),
      lists: {
        offsets: fromBinary(m.offsets, Int32Array),
        items: fromBinary(m.items, Int32Array),
        scores: fromBinary(m.scores, Float32Array),
        reasons: fromBinary(m.reasons, Uint8Array),
        because: fromBinary(m.because, Int32Array),
        coldStart: fromBinary(m.cold_start, Uint8Array),
      },
      computedIn: fromBinary(m.computed_in, Uint16Array),
      names: m.computed_in_batches,
    });
  }
  return {
    find(userId: number): { lists: ScoredChunk; row: number; computedIn: string } | null {
      for (const part of parts) {
        let lo = 0;
        let hi = part.users.length - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          const v = part.users[mid] as number;
          if (v === userId) return { lists: part.lists, row: mid, computedIn: part.names[part.computedIn[mid] as number] as string };
          if (v < userId) lo = mid + 1;
          else hi = mid - 1;
        }
      }
      return null;
    },
  };
}

/** How many entries of a flag array are set. */
export function countOnes(a: Uint8Array): number {
  let n = 0;
  for (const v of a) n += v;
  return n;
}
