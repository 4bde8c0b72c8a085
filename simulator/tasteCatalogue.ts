import { FAVORITE_GENRES } from '../sources/contract.js';
import type { Random } from './random.js';

/*
 * The catalogue side of taste mode: latent taste clusters, each preferring a few genres
 * and owning a set of artists; every track belongs to one artist (so to one cluster)
 * and carries its artist's genre. Popularity is a power law at two levels: artists
 * within their cluster, tracks within their artist.
 */

export const GENRE_COUNT = FAVORITE_GENRES.length;
/** Each cluster prefers this many genres, the main one first. */
export const GENRES_PER_CLUSTER = 3;
/** How a cluster's artists (and its users' favourite genres) spread over its preferred genres. */
export const GENRE_SLOT_WEIGHTS = [0.6, 0.3, 0.1] as const;
/** Catalogue size per artist, on average. */
export const TRACKS_PER_ARTIST = 8;
/** The rest of a cluster's artists play any genre: clusters overlap a little. */
const ARTIST_GENRE_FROM_CLUSTER = 0.9;
/** Users per cluster fall as (rank + 1)^-0.7: a few large tastes, several niche ones. */
const CLUSTER_SIZE_EXPONENT = 0.7;
export const MIN_CLUSTERS = 8;
export const MAX_CLUSTERS = 20;

export interface TasteCatalogue {
  /** Tracks, indexed 0..nItems-1. */
  nItems: number;
  clusters: number;
  artists: number;
  /** Per track: its artist, its genre (index into FAVORITE_GENRES), its artist's cluster. */
  trackArtist: Int32Array;
  trackGenre: Int32Array;
  trackCluster: Int32Array;
  /** Per artist: its cluster and its genre. */
  artistCluster: Int32Array;
  artistGenre: Int32Array;
  /** Cluster c prefers genres clusterGenres[c * GENRES_PER_CLUSTER ..], the main one first. */
  clusterGenres: Int32Array;
  /** Expected share of users in each cluster (sums to 1). */
  clusterShare: Float64Array;
}

/**
 * Weighted draws over the catalogue. Each CSR segment holds cumulative weights that
 * restart at 0, so one binary search picks an entry of one segment.
 */
export interface CatalogueSampler {
  clusterCum: Float64Array;
  clusterArtistOffsets: Int32Array;
  clusterArtists: Int32Array;
  clusterArtistCum: Float64Array;
  artistTrackOffsets: Int32Array;
  artistTracks: Int32Array;
  artistTrackCum: Float64Array;
}

/** 8 clusters for 1,000 tracks, two more each time the catalogue quadruples, at most 20; never more than tracks. */
export function defaultClusters(tracks: number): number {
  const scaled = Math.round(MIN_CLUSTERS + 2 * Math.log2(Math.max(tracks, 1) / 1000));
  return Math.max(1, Math.min(Math.max(tracks, 1), Math.min(MAX_CLUSTERS, Math.max(MIN_CLUSTERS, scaled))));
}

/** A genre slot of a cluster (0 = main genre), drawn by GENRE_SLOT_WEIGHTS. */
export function genreSlot(random: Random): number {
  const r = random.next();
  return r < GENRE_SLOT_WEIGHTS[0] ? 0 : r < GENRE_SLOT_WEIGHTS[0] + GENRE_SLOT_WEIGHTS[1] ? 1 : 2;
}

export function buildCatalogue(
  random: Random,
  tracks: number,
  clusters: number,
  zipfExponent: number,
): { catalogue: TasteCatalogue; sampler: CatalogueSampler } {
  // Main genres spread over the clusters before any repeats.
  const genreOrder = shuffled(random, GENRE_COUNT);
  const clusterGenres = new Int32Array(clusters * GENRES_PER_CLUSTER);
  for (let c = 0; c < clusters; c++) {
    const at = c * GENRES_PER_CLUSTER;
    clusterGenres[at] = genreOrder[c % GENRE_COUNT] as number;
    for (let s = 1; s < GENRES_PER_CLUSTER; s++) {
      let g = random.int(GENRE_COUNT);
      while (clusterGenres.subarray(at, at + s).includes(g)) g = random.int(GENRE_COUNT);
      clusterGenres[at + s] = g;
    }
  }

  // Every cluster owns at least one artist, every artist at least one track.
  const artists = tracks === 0 ? 0 : Math.min(tracks, Math.max(clusters, Math.round(tracks / TRACKS_PER_ARTIST)));
  const artistCluster = new Int32Array(artists);
  const artistGenre = new Int32Array(artists);
  for (let a = 0; a < artists; a++) {
    const c = a < clusters ? a : random.int(clusters);
    artistCluster[a] = c;
    artistGenre[a] =
      random.next() < ARTIST_GENRE_FROM_CLUSTER ? (clusterGenres[c * GENRES_PER_CLUSTER + genreSlot(random)] as number) : random.int(GENRE_COUNT);
  }
  const trackArtist = new Int32Array(tracks);
  for (let t = 0; t < tracks; t++) trackArtist[t] = t < artists ? t : random.int(artists);
  shuffleInPlace(random, trackArtist, 0, tracks);
  const trackGenre = new Int32Array(tracks);
  const trackCluster = new Int32Array(tracks);
  for (let t = 0; t < tracks; t++) {
    trackGenre[t] = artistGenre[trackArtist[t] as number] as number;
    trackCluster[t] = artistCluster[trackArtist[t] as number] as number;
  }

  const clusterShare = new Float64Array(clusters);
  let shareTotal = 0;
  for (let c = 0; c < clusters; c++) shareTotal += clusterShare[c] = (c + 1) ** -CLUSTER_SIZE_EXPONENT;
  const clusterCum = new Float64Array(clusters);
  let sum = 0;
  for (let c = 0; c < clusters; c++) {
    clusterShare[c] = (clusterShare[c] as number) / shareTotal;
    clusterCum[c] = sum += clusterShare[c] as number;
  }

  const byCluster = group(artistCluster, clusters);
  const byArtist = group(trackArtist, artists);
  // Popularity ranks are random within a segment: a rank says nothing about an index.
  const clusterArtistCum = zipfSegments(random, byCluster.offsets, byCluster.members, zipfExponent);
  const artistTrackCum = zipfSegments(random, byArtist.offsets, byArtist.members, zipfExponent);
  return {
    catalogue: { nItems: tracks, clusters, artists, trackArtist, trackGenre, trackCluster, artistCluster, artistGenre, clusterGenres, clusterShare },
    sampler: {
      clusterCum,
      clusterArtistOffsets: byCluster.offsets,
      clusterArtists: byCluster.members,
      clusterArtistCum,
      artistTrackOffsets: byArtist.offsets,
      artistTracks: byArtist.members,
      artistTrackCum,
    },
  };
}

/** A track of artist `a`, by its popularity within the artist. */
export function drawArtistTrack(s: CatalogueSampler, random: Random, a: number): number {
  return s.artistTracks[drawIn(s.artistTrackCum, s.artistTrackOffsets[a] as number, s.artistTrackOffsets[a + 1] as number, random)] as number;
}

/** An artist of cluster `c`, by popularity. */
export function drawClusterArtist(s: CatalogueSampler, random: Random, c: number): number {
  return s.clusterArtists[drawIn(s.clusterArtistCum, s.clusterArtistOffsets[c] as number, s.clusterArtistOffsets[c + 1] as number, random)] as number;
}

/** A cluster by its share of users: with drawClusterArtist, a draw from global popularity. */
export function drawCluster(s: CatalogueSampler, random: Random): number {
  return drawIn(s.clusterCum, 0, s.clusterCum.length, random);
}

/** An index k of [lo, hi) with probability proportional to its weight (cum holds running sums from lo). */
function drawIn(cum: Float64Array, lo: number, hi: number, random: Random): number {
  const x = random.next() * (cum[hi - 1] as number);
  let a = lo;
  let b = hi - 1;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if ((cum[mid] as number) > x) b = mid;
    else a = mid + 1;
  }
  return a;
}

/** Members 0..n-1 grouped by their key (a counting sort): members of key k at offsets[k]..offsets[k+1]. */
function group(keyOf: Int32Array, keys: number): { offsets: Int32Array; members: Int32Array } {
  const offsets = new Int32Array(keys + 1);
  for (let i = 0; i < keyOf.length; i++) offsets[(keyOf[i] as number) + 1]!++;
  for (let k = 0; k < keys; k++) offsets[k + 1]! += offsets[k] as number;
  const cursor = offsets.slice(0, keys);
  const members = new Int32Array(keyOf.length);
  for (let i = 0; i < keyOf.length; i++) members[cursor[keyOf[i] as number]!++] = i;
  return { offsets, members };
}

/** Shuffles each segment, then gives its k-th member the weight (k + 1)^-s, as running sums. */
function zipfSegments(random: Random, offsets: Int32Array, members: Int32Array, s: number): Float64Array {
  const cum = new Float64Array(members.length);
  for (let seg = 0; seg + 1 < offsets.length; seg++) {
    const lo = offsets[seg] as number;
    const hi = offsets[seg + 1] as number;
    shuffleInPlace(random, members, lo, hi);
    let sum = 0;
    for (let k = lo; k < hi; k++) cum[k] = sum += (k - lo + 1) ** -s;
  }
  return cum;
}

function shuffleInPlace(random: Random, a: Int32Array, lo: number, hi: number): void {
  for (let i = hi - 1; i > lo; i--) {
    const j = lo + random.int(i - lo + 1);
    const t = a[i] as number;
    a[i] = a[j] as number;
    a[j] = t;
  }
}

function shuffled(random: Random, n: number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(random, a, 0, n);
  return a;
}
