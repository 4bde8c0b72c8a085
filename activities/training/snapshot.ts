import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import type { Interactions } from '../../models/interactions.js';
import { Growable } from '../../models/growable.js';
import { readLiveData } from '../recommend/liveData.js';
import { artifactExists, deleteArtifact, loadArtifact, saveArtifact, MODEL_VERSIONS } from '../../stores/modelRegistry.js';
import { type SnapshotArray, type SnapshotDocument } from '../../stores/snapshots.js';
import { snapshotsCollection } from '../../stores/snapshots.js';

/*
 * A training snapshot: the live listens of live users on live tracks, frozen at one moment
 * and named by their content. Models are trained and compared on a snapshot, never on the
 * moving collections, so a decision can be reproduced from its snapshot id and split seed.
 * The arrays are stored as chunked binary artifacts (`snapshot/<id>/<array>`) next to the
 * models'; the document holds the figures and the distribution drift is measured against.
 */

/** A loaded snapshot: the CSR matrix over dense item indices, and the ids behind them. */
export interface Snapshot {
  id: string;
  /** Users (rows) ascending by id; items ascending by track id. */
  userIds: Float64Array;
  itemIds: Float64Array;
  interactions: Interactions;
  /** Genre code of each item (an index into genreWords). */
  itemGenres: Uint16Array;
  genreWords: string[];
}

const ARRAYS = { user_ids: Float64Array, item_ids: Float64Array, offsets: Int32Array, items: Int32Array, item_genres: Uint16Array } as const satisfies Record<
  SnapshotArray,
  unknown
>;

const arrayKey = (id: string, name: SnapshotArray) => `snapshot/${id}/${name}`;

/** Decoded snapshots of this process, the two most recent. */
const cache = new Map<string, Snapshot>();

/**
 * Freezes today's live listens. Taking a snapshot twice of unchanged data returns the same
 * id and writes nothing new (idempotent); `beat` reports reading progress.
 */
export async function takeSnapshot(db: Db, beat: (stage: string, read: number) => void): Promise<SnapshotDocument> {
  const live = await readLiveData(db, beat);
  const itemIds = Float64Array.from([...live.liveTracks.keys()].sort((a, b) => a - b));
  const itemOf = new Map<number, number>();
  itemIds.forEach((id, i) => itemOf.set(id, i));
  const words = [...new Set(live.genreWords.values())].sort();
  const wordCode = new Map(words.map((w, i) => [w, i]));
  const itemGenres = Uint16Array.from(itemIds, (id) => wordCode.get(live.genreWords.get(id) ?? '') ?? 0);

  const offsets = new Int32Array(live.users.length + 1);
  const items = new Growable((n) => new Int32Array(n));
  for (let u = 0; u < live.users.length; u++) {
    // Listens of tracks gone from the catalogue cannot be recommended: they are left out.
    for (const track of live.tracksOf(u)) {
      const item = itemOf.get(track);
      if (item !== undefined) items.push(item);
    }
    offsets[u + 1] = items.length;
  }
  const arrays: Record<SnapshotArray, Float64Array | Int32Array | Uint16Array> = {
    user_ids: live.users,
    item_ids: itemIds,
    offsets,
    items: items.view(),
    item_genres: itemGenres,
  };
  const hash = createHash('sha256');
  for (const name of Object.keys(ARRAYS) as SnapshotArray[]) hash.update(name).update(bytesOf(arrays[name]));
  hash.update(JSON.stringify(words));
  const id = `snap-${hash.digest('hex').slice(0, 16)}`;

  // The activity that took it (or the drift check) reads it next in this process: no need to read it back.
  remember({
    id,
    userIds: live.users,
    itemIds,
    interactions: { nUsers: live.users.length, nItems: itemIds.length, offsets, items: items.view() },
    itemGenres,
    genreWords: words,
  });
  const snapshots = snapshotsCollection(db);
  const existing = await snapshots.findOne({ _id: id });
  if (existing) return existing;
  for (const name of Object.keys(ARRAYS) as SnapshotArray[]) await saveArtifact(db, arrayKey(id, name), bytesOf(arrays[name]));
  const counts = new Float64Array(words.length);
  const all = items.view();
  for (let k = 0; k < all.length; k++) counts[itemGenres[all[k] as number] as number]! += 1;
  const genreShares: Record<string, number> = {};
  words.forEach((w, i) => {
    if ((counts[i] as number) > 0) genreShares[w || '(none)'] = (counts[i] as number) / Math.max(1, all.length);
  });
  const doc: SnapshotDocument = {
    _id: id,
    created_at: new Date(),
    users: live.users.length,
    tracks: itemIds.length,
    listens: all.length,
    genre_words: words,
    genre_shares: genreShares,
    arrays: Object.fromEntries((Object.keys(ARRAYS) as SnapshotArray[]).map((n) => [n, arrays[n].length])) as Record<SnapshotArray, number>,
  };
  // The document last: a snapshot whose document exists has all its arrays.
  await snapshots.replaceOne({ _id: id }, doc, { upsert: true });
  return doc;
}

/** A snapshot by id, decoded once per process (the two most recent are kept). */
export async function loadSnapshot(db: Db, id: string): Promise<Snapshot> {
  const hit = cache.get(id);
  if (hit) return hit;
  const doc = await snapshotsCollection(db).findOne({ _id: id });
  if (!doc) throw ApplicationFailure.nonRetryable(`training snapshot ${id} not found`, 'SnapshotUnavailable');
  const read = async <T extends SnapshotArray>(name: T) => {
    const bytes = await loadArtifact(db, arrayKey(id, name));
    const Type = ARRAYS[name];
    const copy = new ArrayBuffer(bytes.length);
    new Uint8Array(copy).set(bytes);
    const array = new Type(copy);
    if (array.length !== doc.arrays[name])
      throw ApplicationFailure.nonRetryable(
        `training snapshot ${id}: ${name} holds ${array.length} values, expected ${doc.arrays[name]}`,
        'SnapshotUnavailable',
      );
    return array as InstanceType<(typeof ARRAYS)[T]>;
  };
  const userIds = await read('user_ids');
  const itemIds = await read('item_ids');
  const snapshot: Snapshot = {
    id,
    userIds,
    itemIds,
    interactions: { nUsers: userIds.length, nItems: itemIds.length, offsets: await read('offsets'), items: await read('items') },
    itemGenres: await read('item_genres'),
    genreWords: doc.genre_words,
  };
  return remember(snapshot);
}

function remember(snapshot: Snapshot): Snapshot {
  cache.delete(snapshot.id);
  cache.set(snapshot.id, snapshot);
  while (cache.size > 2) cache.delete(cache.keys().next().value as string);
  return snapshot;
}

/**
 * Keeps the `keep` newest snapshots and every snapshot a model that is not rejected was
 * trained on (its lineage must stay reproducible); drops the rest.
 */
export async function pruneSnapshots(db: Db, keep: number): Promise<string[]> {
  const all = await snapshotsCollection(db)
    .find({}, { projection: { created_at: 1 } })
    .toArray();
  // Rejected versions are kept for the record, not to be reproduced: they do not hold a snapshot.
  const used = new Set(
    (
      await db
        .collection(MODEL_VERSIONS)
        .find({}, { projection: { 'lineage.snapshot_id': 1, status: 1 } })
        .toArray()
    )
      .filter((v) => v.status !== 'rejected')
      .map((v) => (v.lineage as { snapshot_id?: string } | undefined)?.snapshot_id),
  );
  const newest = new Set(
    all
      .sort((a, b) => b.created_at.getTime() - a.created_at.getTime())
      .slice(0, keep)
      .map((s) => s._id),
  );
  const dropped: string[] = [];
  for (const s of all) {
    if (newest.has(s._id) || used.has(s._id)) continue;
    // The document first: a snapshot without its document is never read.
    await snapshotsCollection(db).deleteOne({ _id: s._id });
    for (const name of Object.keys(ARRAYS) as SnapshotArray[])
      if (await artifactExists(db, arrayKey(s._id, name))) await deleteArtifact(db, arrayKey(s._id, name));
    dropped.push(s._id);
  }
  return dropped;
}

function bytesOf(array: Float64Array | Int32Array | Uint16Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}
