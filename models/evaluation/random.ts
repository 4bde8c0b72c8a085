import { seededRandom } from '../seededRandom.js';

/**
 * `count` distinct values drawn from `values` (a seeded partial Fisher-Yates shuffle of a
 * copy), returned in ascending order so the sample does not depend on draw order.
 */
export function sampleSorted(values: Int32Array, count: number, seed: number): Int32Array {
  if (count >= values.length) return values.slice();
  const pool = values.slice();
  const next = seededRandom(seed);
  for (let n = 0; n < count; n++) {
    const pick = n + Math.floor(next() * (pool.length - n));
    const chosen = pool[pick] as number;
    pool[pick] = pool[n] as number;
    pool[n] = chosen;
  }
  return pool.subarray(0, count).sort();
}
