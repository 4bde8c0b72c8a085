import { seededRandom } from '../models/seededRandom.js';
import { FAVORITE_GENRES } from '../sources/contract.js';

/**
 * Listening data shaped like a music service's: `listens` distinct tracks per user, drawn
 * with a power-law popularity (a few tracks everywhere, a long tail), as item indices
 * 0..tracks-1 (track id = index + 1). CSR: user u heard items[u*listens .. (u+1)*listens).
 */
export function syntheticListens(users: number, tracks: number, listens: number, seed = 1): Int32Array {
  const next = seededRandom(seed);
  const items = new Int32Array(users * listens);
  for (let u = 0; u < users; u++) {
    const at = u * listens;
    for (let n = 0; n < listens; n++) {
      let item: number;
      do item = Math.min(tracks - 1, Math.floor(tracks * next() ** 2.5));
      while (items.subarray(at, at + n).includes(item));
      items[at + n] = item;
    }
  }
  return items;
}

export const genreOf = (seed: number) => FAVORITE_GENRES[seed % FAVORITE_GENRES.length] as string;
