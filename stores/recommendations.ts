import type { Binary, Db } from 'mongodb';
import { decodeItems, encodeItems, type RecommendedItem } from './recommendedItems.js';
import { RollbackRefused } from '../contracts/rollbackRefused.js';
import type { ModelRef } from '../contracts/recommend.js';
import type { BatchLayout, Slot } from '../contracts/recommend.js';

export type { RecommendedItem };

/*
 * Where recommendations live. Each batch writes its own collection,
 * `recommendations_<batch id>`, keyed by the user id. A full batch holds one document per
 * live user; an overlay batch holds only the lists it computed and a marker for each user
 * no longer live, and reads through to the batch it was planned on (its `layers`, newest
 * first, end in a full batch). A single pointer document names the active batch and its
 * layers' collections. Publishing is one update of that pointer, so a reader (who reads
 * the pointer, then one user's document from the newest layer holding it) sees the old
 * batch or the new one, never a mix: batches never change once published. Older batches
 * are dropped whole (a drop is instant where deleting a million documents is not), never
 * while a kept batch still reads through them.
 */

export const BATCHES = 'recommendation_batches';
export const STATE = 'recommendation_state';
/** Per-chunk inputs a batch's scoring reads (deleted once it is published). */
export const INPUTS = 'recommendation_inputs';
/** Per-chunk results in compact form: what the next incremental batch carries over. */
export const MANIFESTS = 'recommendation_chunks';

export const ACTIVE_ID = 'active';
/**
 * The canary's pointer: a batch computed with the `challenger` model, served to a share
 * of users (MOOVITAMIX_CANARY_SHARE) so the two models can be compared on live feedback.
 * Same shape as the active pointer.
 */
export const CHALLENGER_ID = 'challenger';
/** `unchanged`: a run's record that found nothing to publish (it holds no lists, the active batch stayed). */
export type BatchStatus = 'building' | 'published' | 'superseded' | 'rolled_back' | 'failed' | 'pruned' | 'unchanged';

export interface BatchDocument {
  _id: string;
  status: BatchStatus;
  collection: string;
  workflow_id: string;
  model: ModelRef;
  mode: 'full' | 'incremental';
  /** The pointer it is published to: `active` (everyone) or `challenger` (the canary); absent = active. */
  slot?: Slot;
  /** The batch that was active when this one was planned: carry-over source, publish guard. */
  base_batch_id: string | null;
  /** Absent in batches written before overlays: full. */
  layout?: BatchLayout;
  /** Batch ids a lookup reads, newest first: itself, then its base's layers down to a full batch. Absent: [itself]. */
  layers?: string[];
  /** Documents the overlays of `layers` hold together (0 for a full batch): what compaction weighs. */
  overlay_documents?: number;
  /** Removal markers this batch writes (users its base served who are no longer live). */
  removed?: number;
  /** When its auto MostPopular model was fitted (absent for registered models): the fallback's age. */
  model_fitted_at?: Date;
  /** The data version it was planned on (ingest/dataVersion.ts); null when unknown. Absent before it was kept. */
  data_version?: string | null;
  /** An unchanged run that read no data: the plan (the active batch, or an earlier unchanged run) on the same data version. */
  settled_by?: string;
  k: number;
  /** Tracks its computed lists store beyond k (`spares`). Absent: 0. */
  spares?: number;
  /**
   * Deleted tracks that lists it serves still hold (carried lists, kept because k of their
   * tracks are still live): lookups leave them out and serve the spares after them. Absent: none.
   */
  masked_tracks?: number[];
  genre_boost: number;
  chunk_size: number;
  chunks: number;
  /** Live users when planned: the batch serves exactly one list to each. */
  users: number;
  to_compute: number;
  to_carry: number;
  created_at: Date;
  published_at?: Date;
  superseded_at?: Date;
  rolled_back_at?: Date;
  failed_at?: Date;
  error?: string;
  /** Figures of the written batch, set when it is published. */
  written?: { users: number; computed: number; carried: number; cold_start: number };
}

export interface StateDocument {
  _id: Slot;
  batch_id: string;
  collection: string;
  /** The collections a lookup reads, newest first (the batch's layers). Absent: [collection]. */
  layers?: string[];
  /** The batch's `masked_tracks`: read with the pointer, so a lookup never mixes two batches' masks. */
  masked_tracks?: number[];
  /** The batch `recommend rollback` returns to, while it is kept. */
  previous_batch_id: string | null;
  switched_at: Date;
  reason: string;
}

/**
 * One user's recommendations in one batch. `items` is the list the API serves
 * (RecommendedItem[], best first), stored as one string (recommendedItems.ts): FerretDB
 * decodes every BSON value of a document it reads, and one string instead of twenty
 * sub-documents gives 2.4x the lookups a second; a string with nothing to escape in JSON
 * costs it a third less to write than JSON text (measured: docs/recommendations.md).
 * MongoDB serves it as well.
 */
export interface RecommendationDocument {
  /** The user id, as a string: the only key FerretDB looks up without a scan. */
  _id: string;
  user_id: number;
  batch_id: string;
  model: string;
  /** The batch that computed the list: an earlier one when it was carried over. */
  computed_in: string;
  cold_start: boolean;
  /** How many tracks `items` holds. */
  count: number;
  /** The list's stored text (recommendedItems.ts; JSON text in documents written before). */
  items: string;
  /** The tracks ranked after `items` (the batch's spares), stored alike, served only in place of masked ones. Absent: none. */
  spares?: string;
}

/**
 * In an overlay: the user was served by the base's layers but is no longer live. Found
 * first, it answers "no list", as the user's absence from a full batch does.
 */
export interface RemovedMarker {
  _id: string;
  user_id: number;
  batch_id: string;
  removed: true;
}

/** What a batch's collection holds. */
export type LayerDocument = RecommendationDocument | RemovedMarker;

export function isRemoved(doc: LayerDocument): doc is RemovedMarker {
  return (doc as RemovedMarker).removed === true;
}

/** A batch's layers, newest first (a batch written before overlays is its own only layer). */
export const layersOf = (batch: Pick<BatchDocument, '_id' | 'layers'>): string[] => batch.layers ?? [batch._id];

/** The collections a pointer's lookups read, newest first. */
export const pointerLayers = (state: Pick<StateDocument, 'collection' | 'layers'>): string[] => state.layers ?? [state.collection];

/** A stored list as the API serves it. */
export function itemsOf(doc: Pick<RecommendationDocument, 'items'>): RecommendedItem[] {
  return decodeItems(doc.items);
}

/** A stored list's spares, best first (none when absent). */
export function sparesOf(doc: Pick<RecommendationDocument, 'spares'>): RecommendedItem[] {
  return doc.spares ? decodeItems(doc.spares) : [];
}

/**
 * A stored list as a batch with masked tracks serves it: the masked tracks left out and
 * as many spares moved up, so the list keeps its length while it has live tracks to. The
 * same list as scoring without the masked tracks would give (ranks do not depend on
 * which other tracks are live). Unchanged, without parsing, when it holds none of them.
 */
export function servedList(doc: RecommendationDocument, masked: ReadonlySet<number>): RecommendationDocument {
  if (masked.size === 0) return doc;
  const items = itemsOf(doc);
  if (!items.some((item) => masked.has(item.track_id))) return doc;
  const all = items.concat(sparesOf(doc));
  const served = all.filter((item) => !masked.has(item.track_id));
  const kept = served.slice(0, doc.count);
  const rest = served.slice(doc.count);
  const { spares: _old, ...head } = doc;
  return { ...head, count: kept.length, items: encodeItems(kept), ...(rest.length > 0 ? { spares: encodeItems(rest) } : {}) };
}

/** What every per-chunk document names: its chunk and the chunk's users. */
interface ChunkDocument {
  /** `<batch id>#<chunk>`. */
  _id: string;
  batch_id: string;
  chunk: number;
  users: number;
  /** Float64 user ids, ascending. */
  user_ids: Binary;
  /** Uint32 pairs: a hash of what each user's list depends on (history, favourite genre). */
  input_hashes: Binary;
}

/** Compact per-chunk inputs, written by prepare and read by scoreChunk. */
export interface InputDocument extends ChunkDocument {
  /** Uint8: 1 when the user is carried over from the base batch. */
  carry: Binary;
  /** For users to compute: Int32 offsets (n+1) and model item indices, oldest first; Uint8 genre codes. */
  hist_offsets: Binary;
  hist_items: Binary;
  genres: Binary;
  /** Base-batch chunks holding the carried users (inclusive), or null when none are carried. */
  carry_chunks: [number, number] | null;
  /** Overlay batches: whether carried users' lists are left to the base (true) or copied (absent: copied). */
  overlay?: boolean;
  /** Float64 ids of users the base served who are no longer live, in this chunk's id range: their removal markers. */
  removed?: Binary;
}

/** Per-batch scoring context: which model items are live now and their genre codes. */
export interface ContextDocument {
  _id: string;
  batch_id: string;
  live: Binary;
  item_genres: Binary;
}

/** A chunk's results in compact form (item indices of the batch's model). */
export interface ManifestDocument extends ChunkDocument {
  /** Int32 (n+1), then per recommendation: Int32 item, Float32 score, Uint8 reason, Int32 x3 because. */
  offsets: Binary;
  items: Binary;
  scores: Binary;
  reasons: Binary;
  because: Binary;
  cold_start: Binary;
  /** Uint16 index into computed_in_batches, per user. */
  computed_in: Binary;
  computed_in_batches: string[];
  computed: number;
  carried: number;
}

export const chunkId = (batchId: string, chunk: number) => `${batchId}#${chunk}`;
export const contextId = (batchId: string) => `${batchId}#context`;
export const batchCollection = (batchId: string) => `recommendations_${batchId}`;

/** Batch ids name collections: keep them to letters, digits, `_` and `-`. */
export const BATCH_ID = /^[A-Za-z0-9_-]{1,64}$/;

export async function activeState(db: Db): Promise<StateDocument | null> {
  return slotState(db, ACTIVE_ID);
}

/** The canary's pointer, or null when no challenger batch is published. */
export async function challengerState(db: Db): Promise<StateDocument | null> {
  return slotState(db, CHALLENGER_ID);
}

export async function slotState(db: Db, slot: Slot): Promise<StateDocument | null> {
  return db.collection<StateDocument>(STATE).findOne({ _id: slot });
}

/**
 * Makes `batchId` active if the pointer still names `expected` (null: no batch yet).
 * Returns false when another batch was published meanwhile.
 */
export async function switchActive(
  db: Db,
  batchId: string,
  expected: string | null,
  previous: string | null,
  reason: string,
  slot: Slot = ACTIVE_ID,
  layers: string[] = [batchId],
  masked: number[] = [],
): Promise<boolean> {
  const state = db.collection<StateDocument>(STATE);
  const fields = {
    batch_id: batchId,
    collection: batchCollection(batchId),
    layers: layers.map(batchCollection),
    masked_tracks: masked,
    previous_batch_id: previous,
    switched_at: new Date(),
    reason,
  };
  if (expected === null) {
    try {
      await state.insertOne({ _id: slot, ...fields });
      return true;
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return false;
      throw err;
    }
  }
  const result = await state.updateOne({ _id: slot, batch_id: expected }, { $set: fields });
  return result.matchedCount === 1;
}

/**
 * `recommend rollback`: the previous batch becomes active again, at once. The batch rolled
 * back from is kept until pruned, not published again; a second rollback needs a
 * previous batch of its own, so it is refused.
 */
export async function rollbackActive(db: Db): Promise<{ from: string; to: string }> {
  const state = await activeState(db);
  if (!state) throw new RollbackRefused('no recommendations have been published yet');
  const to = state.previous_batch_id;
  if (!to) throw new RollbackRefused(`batch ${state.batch_id} is active and there is no previous batch to roll back to`);
  const previous = await db.collection<BatchDocument>(BATCHES).findOne({ _id: to });
  if (!previous || previous.status !== 'superseded')
    throw new RollbackRefused(`the previous batch ${to} is no longer available (status ${previous?.status ?? 'gone'})`);
  // An overlay reads through its base's collections: every one of them must still be there.
  const needed = layersOf(previous).map(batchCollection);
  const present = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  const missing = needed.filter((name) => !present.has(name));
  if (missing.length > 0)
    throw new RollbackRefused(
      `the previous batch's collection${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} gone`,
    );
  if (!(await switchActive(db, to, state.batch_id, null, `rolled back from ${state.batch_id}`, ACTIVE_ID, layersOf(previous), previous.masked_tracks ?? [])))
    throw new RollbackRefused('another batch was published meanwhile; look again');
  const now = new Date();
  await db.collection<BatchDocument>(BATCHES).updateOne({ _id: state.batch_id }, { $set: { status: 'rolled_back', rolled_back_at: now } });
  await db.collection<BatchDocument>(BATCHES).updateOne({ _id: to }, { $set: { status: 'published' }, $unset: { superseded_at: '' } });
  return { from: state.batch_id, to };
}
