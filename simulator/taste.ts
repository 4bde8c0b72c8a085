import { createRandom, type Random } from './random.js';
import {
  GENRE_COUNT,
  GENRES_PER_CLUSTER,
  buildCatalogue,
  defaultClusters,
  drawArtistTrack,
  drawCluster,
  drawClusterArtist,
  genreSlot,
  type CatalogueSampler,
  type TasteCatalogue,
} from './tasteCatalogue.js';

/*
 * Taste mode: listening data where a recommender has something to find, deterministic
 * for a seed and free of HTTP, so that benchmarks and model tests get it at scale and
 * the simulator's --taste mode serves exactly the same thing.
 *
 * Each user belongs to one latent taste cluster. A listen is, with probability
 * `inClusterShare`, from the user's taste: another track of the artist of their previous
 * in-taste listen (SAME_ARTIST), a track of one of their few favourite artists
 * (FAVOURITE_ARTIST), or a track of their cluster by popularity; otherwise it is drawn
 * from global popularity. Taste does not drift, so the last listen is predictable from
 * the earlier ones. A user's tracks are distinct, oldest first.
 */

export { defaultClusters, GENRES_PER_CLUSTER, type TasteCatalogue } from './tasteCatalogue.js';

export interface TasteOptions {
  seed: string;
  users: number;
  tracks: number;
  /** Mean listens per user; each list holds distinct tracks, so at most `tracks`. */
  listensPerUser: number;
  /** Every list exactly `listensPerUser` long (the API's rows hold 5), instead of uniform in [mean/2, 3*mean/2]. */
  fixedLength?: boolean;
  /** Taste clusters; default 8 for 1,000 tracks up to 20 (defaultClusters). */
  clusters?: number;
  /** Share of listens drawn from the user's taste, the rest from global popularity (default 0.85). */
  inClusterShare?: number;
  /** Power-law exponent of popularity, artists within a cluster and tracks within an artist (default 1). */
  zipfExponent?: number;
}

/**
 * The generated data. Its nUsers/nItems/offsets/items are a models/interactions.ts
 * `Interactions`: user u heard items[offsets[u] .. offsets[u+1]), oldest first.
 */
export interface TasteData extends TasteCatalogue {
  nUsers: number;
  offsets: Int32Array;
  items: Int32Array;
  /** Per user: their taste cluster. */
  cluster: Int32Array;
  /** Per user: their favourite genre (index into FAVORITE_GENRES), mostly one their cluster prefers. */
  userGenre: Int32Array;
}

export const DEFAULT_IN_CLUSTER_SHARE = 0.85;
export const DEFAULT_ZIPF_EXPONENT = 1;
/** Favourite artists per user, drawn uniformly from their cluster's artists: a taste of their own, beyond the cluster's. */
const FAVOURITE_ARTISTS = 3;
/** Of in-taste listens: this share follows the previous in-taste listen's artist ... */
const SAME_ARTIST = 0.3;
/** ... this share a favourite artist; the rest the cluster's popularity. */
const FAVOURITE_ARTIST = 0.25;
/** Users whose favourite genre is one their cluster prefers; the others picked any genre. */
const GENRE_FROM_CLUSTER = 0.85;

export function validateTasteOptions(o: TasteOptions): void {
  for (const name of ['users', 'tracks'] as const) {
    if (!Number.isSafeInteger(o[name]) || o[name] < 0) throw new RangeError(`taste: ${name} must be a whole number >= 0, got ${o[name]}`);
  }
  if (!Number.isFinite(o.listensPerUser) || o.listensPerUser < 1) throw new RangeError(`taste: listensPerUser must be a number >= 1, got ${o.listensPerUser}`);
  if (o.fixedLength && !Number.isSafeInteger(o.listensPerUser))
    throw new RangeError(`taste: a fixed listensPerUser must be a whole number, got ${o.listensPerUser}`);
  if (o.clusters !== undefined && (!Number.isSafeInteger(o.clusters) || o.clusters < 1 || (o.tracks > 0 && o.clusters > o.tracks))) {
    throw new RangeError(`taste: clusters must be a whole number from 1 to the number of tracks (${o.tracks}), got ${o.clusters}`);
  }
  const share = o.inClusterShare ?? DEFAULT_IN_CLUSTER_SHARE;
  if (!Number.isFinite(share) || share < 0 || share > 1) throw new RangeError(`taste: inClusterShare must be a fraction 0..1, got ${share}`);
  const s = o.zipfExponent ?? DEFAULT_ZIPF_EXPONENT;
  if (!Number.isFinite(s) || s < 0) throw new RangeError(`taste: zipfExponent must be a number >= 0, got ${s}`);
}

/** Taste data in compact form (typed arrays only): what the simulator keeps. */
export function generateTaste(options: TasteOptions): TasteData {
  validateTasteOptions(options);
  const { seed, users, tracks } = options;
  const clusters = options.clusters ?? defaultClusters(tracks);
  const inCluster = options.inClusterShare ?? DEFAULT_IN_CLUSTER_SHARE;
  // One stream per concern: the catalogue does not depend on users, a user's list not on later users.
  const { catalogue, sampler } = buildCatalogue(createRandom(`${seed}/taste/catalogue`), tracks, clusters, options.zipfExponent ?? DEFAULT_ZIPF_EXPONENT);
  const userRandom = createRandom(`${seed}/taste/users`);
  const lengthRandom = createRandom(`${seed}/taste/lengths`);

  const offsets = new Int32Array(users + 1);
  for (let u = 0; u < users; u++) {
    const mean = options.listensPerUser;
    const length = options.fixedLength ? mean : Math.max(1, Math.round(mean * (0.5 + lengthRandom.next())));
    offsets[u + 1] = (offsets[u] as number) + Math.min(length, tracks);
  }
  const items = new Int32Array(offsets[users] as number);
  const cluster = new Int32Array(users);
  const userGenre = new Int32Array(users);
  // heardBy[t] === u + 1: user u already heard track t (no clearing between users).
  const heardBy = new Int32Array(tracks);
  const favourites = new Int32Array(FAVOURITE_ARTISTS);

  for (let u = 0; u < users; u++) {
    const c = drawCluster(sampler, userRandom);
    cluster[u] = c;
    userGenre[u] =
      userRandom.next() < GENRE_FROM_CLUSTER
        ? (catalogue.clusterGenres[c * GENRES_PER_CLUSTER + genreSlot(userRandom)] as number)
        : userRandom.int(GENRE_COUNT);
    const own = sampler.clusterArtistOffsets[c] as number;
    const ownCount = (sampler.clusterArtistOffsets[c + 1] as number) - own;
    for (let f = 0; f < FAVOURITE_ARTISTS && ownCount > 0; f++) favourites[f] = sampler.clusterArtists[own + userRandom.int(ownCount)] as number;

    let lastArtist = -1;
    for (let k = offsets[u] as number; k < (offsets[u + 1] as number); k++) {
      const inTaste = userRandom.next() < inCluster;
      let t = -1;
      for (let attempt = 0; attempt < 24 && t < 0; attempt++) {
        // A route whose tracks the user has all heard gives way: to the cluster, then to global popularity.
        const candidate =
          inTaste && attempt < 16
            ? tasteDraw(sampler, userRandom, c, attempt < 4 ? lastArtist : -1, attempt < 4 ? favourites : undefined)
            : globalDraw(sampler, userRandom);
        if (heardBy[candidate] !== u + 1) t = candidate;
      }
      if (t < 0) {
        // Almost everything is heard: the next unheard track from a random start (lists never exceed tracks).
        t = userRandom.int(tracks);
        while (heardBy[t] === u + 1) t = (t + 1) % tracks;
      }
      heardBy[t] = u + 1;
      items[k] = t;
      if (inTaste) lastArtist = catalogue.trackArtist[t] as number;
    }
  }
  return { ...catalogue, nUsers: users, offsets, items, cluster, userGenre };
}

/** Taste data plus each user's list as a plain array (item indices 0..tracks-1, oldest first). */
export function tasteListens(options: TasteOptions): TasteData & { lists: number[][] } {
  const data = generateTaste(options);
  const lists = new Array<number[]>(data.nUsers);
  for (let u = 0; u < data.nUsers; u++) lists[u] = Array.from(data.items.subarray(data.offsets[u] as number, data.offsets[u + 1] as number));
  return { ...data, lists };
}

/** One listen from the user's taste: the previous artist again, a favourite artist, or the cluster's popularity. */
function tasteDraw(s: CatalogueSampler, random: Random, c: number, lastArtist: number, favourites: Int32Array | undefined): number {
  const r = random.next();
  if (lastArtist >= 0 && r < SAME_ARTIST) return drawArtistTrack(s, random, lastArtist);
  if (favourites && r >= SAME_ARTIST && r < SAME_ARTIST + FAVOURITE_ARTIST)
    return drawArtistTrack(s, random, favourites[random.int(favourites.length)] as number);
  return drawArtistTrack(s, random, drawClusterArtist(s, random, c));
}

function globalDraw(s: CatalogueSampler, random: Random): number {
  return drawArtistTrack(s, random, drawClusterArtist(s, random, drawCluster(s, random)));
}
