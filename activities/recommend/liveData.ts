import type { Db } from 'mongodb';
import { SOURCES } from '../../sources/index.js';
import { openKeyIndex } from '../ingest/merge/keyIndex.js';
import { rawCollection } from '../../stores/raw.js';
import { Growable } from '../../models/growable.js';
import { genreCode, normalizeGenre } from './inputs.js';
import { SOURCE_NAMES } from '../../contracts/names.js';

const HEARTBEAT_EVERY = 20_000;

/** Today's live catalogue, users and histories, as recommendation and training read them. */
export interface LiveData {
  /** Live track id -> favourite-genre code of its genre word (0: none). */
  liveTracks: Map<number, number>;
  /** Live track id -> its genre word, normalised (what drift is measured over). */
  genreWords: Map<number, string>;
  /** Live user ids, ascending. */
  users: Float64Array;
  /** Each user's favourite-genre code. */
  genres: Uint8Array;
  /** User id -> index in `users`. */
  position: Map<number, number>;
  /** A view of user u's listened track ids, oldest first (empty without history): no copy per user. */
  tracksOf: (u: number) => Float64Array;
}

/**
 * Reads the live tracks, users and listen histories once (the histories of live users
 * only; a history may still name tombstoned tracks: callers decide what to keep).
 * `beat` is called every 20,000 records read, with the stage.
 */
export async function readLiveData(db: Db, beat: (stage: string, read: number) => void): Promise<LiveData> {
  return (await fromKeyIndexes(db, beat)) ?? (await fromCollections(db, beat));
}

/**
 * The same from the sources' key indexes (ingest/merge/keyIndex.ts): a few binary
 * documents per source instead of a document per track, user and history, which FerretDB
 * decodes a few thousand a second. Null when a source has no index yet or a merge is
 * writing one.
 */
export async function fromKeyIndexes(db: Db, beat: (stage: string, read: number) => void): Promise<LiveData | null> {
  const [tracks, users, histories] = await Promise.all(SOURCE_NAMES.map((name) => openKeyIndex(db, SOURCES[name], null)));
  if (!tracks || !users || !histories) return null;
  const liveTracks = new Map<number, number>();
  const genreWords = new Map<number, string>();
  for await (const chunk of tracks.chunks()) {
    for (const [key, s, x] of chunk) {
      if (s.deletedIn !== null) continue;
      liveTracks.set(Number(key), genreCode(x.label));
      genreWords.set(Number(key), normalizeGenre(x.label));
    }
  }
  beat('tracks', liveTracks.size);
  const userIds = new Growable((n) => new Float64Array(n));
  const userGenres = new Growable((n) => new Uint8Array(n));
  for await (const chunk of users.chunks()) {
    for (const [key, s, x] of chunk) {
      if (s.deletedIn !== null) continue;
      userIds.push(Number(key));
      userGenres.push(genreCode(x.label));
    }
  }
  beat('users', userIds.length);
  const data = await assemble(userIds, userGenres, async (add) => {
    for await (const chunk of histories.chunks()) for (const [key, s, x] of chunk) if (s.deletedIn === null) add(Number(key), x.values);
    beat('listen_history', histories.keys);
  });
  return { liveTracks, genreWords, ...data };
}

/** The live tracks, users and histories read from the curated and raw collections. */
export async function fromCollections(db: Db, beat: (stage: string, read: number) => void): Promise<LiveData> {
  const liveTracks = new Map<number, number>();
  const genreWords = new Map<number, string>();
  for await (const t of db.collection(SOURCES.tracks.curatedCollection).find({}, { projection: { id: 1, genres: 1 }, batchSize: 5000 })) {
    liveTracks.set(t.id as number, genreCode(t.genres));
    genreWords.set(t.id as number, typeof t.genres === 'string' ? normalizeGenre(t.genres) : '');
    if (liveTracks.size % HEARTBEAT_EVERY === 0) beat('tracks', liveTracks.size);
  }

  const userIds = new Growable((n) => new Float64Array(n));
  const userGenres = new Growable((n) => new Uint8Array(n));
  for await (const u of db.collection(SOURCES.users.curatedCollection).find({}, { projection: { id: 1, favorite_genres: 1 }, batchSize: 5000 })) {
    userIds.push(u.id as number);
    userGenres.push(genreCode(u.favorite_genres));
    if (userIds.length % HEARTBEAT_EVERY === 0) beat('users', userIds.length);
  }
  let read = 0;
  const data = await assemble(userIds, userGenres, async (add) => {
    for await (const h of rawCollection(db, SOURCES.listen_history).find(
      {},
      { projection: { 'record.user_id': 1, 'record.items': 1, deleted_at: 1 }, batchSize: 5000 },
    )) {
      if (++read % HEARTBEAT_EVERY === 0) beat('listen_history', read);
      if (h.deleted_at) continue;
      const items = h.record.items as number[] | null;
      if (Array.isArray(items)) add(h.record.user_id as number, items);
    }
  });
  return { liveTracks, genreWords, ...data };
}

/** Users in ascending id order with their genres, and each live user's history as `histories` gives them. */
async function assemble(
  userIds: Growable<Float64Array>,
  userGenres: Growable<Uint8Array>,
  histories: (add: (userId: number, items: ArrayLike<number>) => void) => Promise<void>,
): Promise<Pick<LiveData, 'users' | 'genres' | 'position' | 'tracksOf'>> {
  const order = sortedOrder(userIds.view());
  const users = Float64Array.from(order, (i) => userIds.get(i));
  const genres = Uint8Array.from(order, (i) => userGenres.get(i));
  const position = new Map<number, number>();
  users.forEach((id, i) => position.set(id, i));
  const histStart = new Int32Array(users.length);
  const histLength = new Int32Array(users.length);
  const histTracks = new Growable((n) => new Float64Array(n));
  await histories((userId, items) => {
    const at = position.get(userId);
    if (at === undefined) return;
    histStart[at] = histTracks.length;
    histLength[at] = items.length;
    for (let i = 0; i < items.length; i++) histTracks.push(items[i] as number);
  });
  const tracksOf = (u: number): Float64Array => histTracks.view().subarray(histStart[u] as number, (histStart[u] as number) + (histLength[u] as number));
  return { users, genres, position, tracksOf };
}

/** Indices of `values` in ascending order of value. */
function sortedOrder(values: Float64Array): Int32Array {
  const order = Int32Array.from({ length: values.length }, (_, i) => i);
  return order.sort((a, b) => (values[a] as number) - (values[b] as number));
}
