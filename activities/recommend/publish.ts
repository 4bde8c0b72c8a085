import { log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { deleteArtifact } from '../../stores/modelRegistry.js';
import { fromBinary } from '../../stores/binary.js';
import { countOnes } from './scoreChunk.js';
import {
  ACTIVE_ID,
  BATCHES,
  INPUTS,
  MANIFESTS,
  activeState,
  challengerState,
  chunkId,
  contextId,
  layersOf,
  slotState,
  switchActive,
  type BatchDocument,
  type ManifestDocument,
} from '../../stores/recommendations.js';
import type { PublishOutcome } from '../../contracts/recommend.js';

/**
 * Verifies a batch and makes it active. Verified means: every chunk's manifest is there,
 * the manifests hold exactly the planned users, and the collection holds exactly the
 * planned documents (documents are keyed by user id, so none is doubled): one per planned
 * user in a full batch, one per computed or removed user in an overlay. Then
 * one update of the pointer publishes it, guarded by the batch that was active when the
 * batch was planned: a run never overwrites a batch published after it started.
 */
export async function publishBatch(db: Db, batchId: string): Promise<PublishOutcome> {
  const batches = db.collection<BatchDocument>(BATCHES);
  const batch = await batches.findOne({ _id: batchId });
  if (!batch) throw ApplicationFailure.nonRetryable(`recommendation batch ${batchId} does not exist`, 'NoBatch');
  const slot = batch.slot ?? ACTIVE_ID;
  const state = await slotState(db, slot);
  // A retried attempt whose pointer switch went through: finish the bookkeeping below.
  const switched = state?.batch_id === batchId && batch.written !== undefined;
  if (!switched && batch.status !== 'building')
    throw ApplicationFailure.nonRetryable(`batch ${batchId} is ${batch.status}: only a batch being built can be published`, 'BatchClosed');

  let written = batch.written;
  if (!switched) {
    let users = 0;
    let computed = 0;
    let carried = 0;
    let coldStart = 0;
    for (let c = 0; c < batch.chunks; c++) {
      // Its counts only: a manifest holds every list of its chunk (megabytes at 5,000 users).
      const m = await db
        .collection<ManifestDocument>(MANIFESTS)
        .findOne({ _id: chunkId(batchId, c) }, { projection: { users: 1, computed: 1, carried: 1, cold_start: 1 } });
      if (!m) throw ApplicationFailure.nonRetryable(`batch ${batchId} is incomplete: chunk ${c} of ${batch.chunks} has no results`, 'BatchIncomplete');
      users += m.users;
      computed += m.computed;
      carried += m.carried;
      coldStart += countOnes(fromBinary(m.cold_start, Uint8Array));
    }
    // The collection's own count (cheap on both servers) against the plan; the manifests
    // above were counted chunk by chunk as they were written.
    const documents = await db.collection(batch.collection).estimatedDocumentCount();
    const planned = expectedDocuments(batch);
    if (users !== batch.users || documents !== planned) {
      const overlay = batch.layout === 'overlay' ? ` and an overlay of ${planned} documents (${batch.to_compute} computed, ${batch.removed ?? 0} removed)` : '';
      throw ApplicationFailure.nonRetryable(
        `batch ${batchId} failed verification: planned ${batch.users} users${overlay}, manifests hold ${users}, the collection ${documents} documents`,
        'BatchUnverified',
      );
    }
    written = { users, computed, carried, cold_start: coldStart };
    await batches.updateOne({ _id: batchId }, { $set: { written } });
    const swapped = await switchActive(
      db,
      batchId,
      batch.base_batch_id,
      batch.base_batch_id,
      `published by ${batch.workflow_id}`,
      slot,
      layersOf(batch),
      batch.masked_tracks ?? [],
    );
    // FerretDB checks the guard apart from the write: read back what won.
    const now = await slotState(db, slot);
    if (!swapped || now?.batch_id !== batchId) {
      throw ApplicationFailure.nonRetryable(
        `batch ${now?.batch_id ?? '(none)'} was published after this batch was planned on ${batch.base_batch_id ?? 'no batch'}; this one is not published`,
        'PublishConflict',
      );
    }
  }
  const w = written as NonNullable<BatchDocument['written']>;
  const at = batch.published_at ?? new Date();
  await batches.updateOne({ _id: batchId }, { $set: { status: 'published', published_at: at } });
  if (batch.base_batch_id) await batches.updateOne({ _id: batch.base_batch_id, status: 'published' }, { $set: { status: 'superseded', superseded_at: at } });
  // Inputs served the scoring only.
  for (let c = 0; c < batch.chunks; c++) await db.collection<{ _id: string }>(INPUTS).deleteOne({ _id: chunkId(batchId, c) });
  await db.collection<{ _id: string }>(INPUTS).deleteOne({ _id: contextId(batchId) });
  log.info('recommendation batch published', { batchId, ...figures(w), previous: batch.base_batch_id });
  return { batchId, ...figures(w), previousBatchId: batch.base_batch_id, documents: expectedDocuments(batch) };
}

function expectedDocuments(batch: BatchDocument): number {
  return batch.layout === 'overlay' ? batch.to_compute + (batch.removed ?? 0) : batch.users;
}

function figures(w: NonNullable<BatchDocument['written']>) {
  return { users: w.users, computed: w.computed, carried: w.carried, coldStart: w.cold_start };
}

/** A failed run's batch: marked failed and its documents dropped; the active batch stays. */
export async function abandonBatch(db: Db, batchId: string, error: string): Promise<void> {
  const batch = await db.collection<BatchDocument>(BATCHES).findOne({ _id: batchId });
  if (!batch) return;
  const state = await slotState(db, batch.slot ?? ACTIVE_ID);
  if (state?.batch_id === batchId) return; // published after all: nothing to abandon
  await db.collection<BatchDocument>(BATCHES).updateOne({ _id: batchId }, { $set: { status: 'failed', failed_at: new Date(), error: error.slice(0, 2000) } });
  await dropBatchData(db, batch);
}

/**
 * Keeps the `keep` most recently published batches (at least the active one and the one
 * before it, for rollback) and every batch their overlays read through, and drops the
 * rest, with failed batches and batches left building by a run that died more than a day
 * ago. A batch still building keeps its base's layers too: it will read through them.
 */
export async function pruneBatches(db: Db, keep: number): Promise<{ dropped: string[] }> {
  const state = await activeState(db);
  const canary = await challengerState(db);
  const all = await db
    .collection<BatchDocument>(BATCHES)
    .find({ status: { $ne: 'pruned' } })
    .toArray();
  const protectedIds = new Set([state?.batch_id, state?.previous_batch_id, canary?.batch_id].filter((id): id is string => Boolean(id)));
  const published = all
    .filter((b) => b.status === 'published' || b.status === 'superseded' || b.status === 'rolled_back')
    .sort((a, b) => (b.published_at?.getTime() ?? 0) - (a.published_at?.getTime() ?? 0));
  const dayAgo = Date.now() - 24 * 3600_000;
  const building = all.filter((b) => b.status === 'building' && b.created_at.getTime() >= dayAgo).map((b) => b._id);
  const kept = new Set([...protectedIds, ...building, ...published.slice(0, Math.max(2, keep)).map((b) => b._id)]);
  const byId = new Map(all.map((b) => [b._id, b]));
  for (const id of [...kept]) for (const layer of layersOf(byId.get(id) ?? { _id: id })) kept.add(layer);
  const doomed = all.filter((b) => !kept.has(b._id) && (b.status !== 'building' || b.created_at.getTime() < dayAgo));
  for (const batch of doomed) {
    // An unchanged run's record holds no data: it is only closed, and not reported as dropped.
    if (batch.status !== 'unchanged') await dropBatchData(db, batch);
    await db.collection<BatchDocument>(BATCHES).updateOne({ _id: batch._id }, { $set: { status: 'pruned' } });
  }
  // Fallback models no remaining batch uses.
  const inUse = new Set(all.filter((b) => !doomed.includes(b)).map((b) => b.model.key));
  for (const key of new Set(doomed.map((b) => b.model.key))) {
    if (key.startsWith('most-popular@auto-') && !inUse.has(key)) await deleteArtifact(db, key);
  }
  const dropped = doomed.filter((b) => b.status !== 'unchanged').map((b) => b._id);
  if (dropped.length > 0) log.info('recommendation batches pruned', { dropped });
  return { dropped };
}

async function dropBatchData(db: Db, batch: BatchDocument): Promise<void> {
  await db
    .collection(batch.collection)
    .drop()
    .catch((err: { codeName?: string; code?: number }) => {
      if (err.code !== 26 && err.codeName !== 'NamespaceNotFound') throw err;
    });
  for (let c = 0; c < batch.chunks; c++) {
    await db.collection<{ _id: string }>(INPUTS).deleteOne({ _id: chunkId(batch._id, c) });
    await db.collection<{ _id: string }>(MANIFESTS).deleteOne({ _id: chunkId(batch._id, c) });
  }
  await db.collection<{ _id: string }>(INPUTS).deleteOne({ _id: contextId(batch._id) });
}
