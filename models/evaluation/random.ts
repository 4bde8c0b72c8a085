/** Deterministic pseudo-random numbers in [0, 1) (mulberry32): the same seed, the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` distinct values drawn from `values` (a seeded partial Fisher-Yates shuffle of a
 * copy), returned in ascending order so the sample does not depend on draw order.
 */
export function sampleSorted(values: Int32Array, count: number, seed: number): Int32Array {
  if (count >= values.length) return values.slice();
  const pool = values.slice();
  const next = mulberry32(seed);
  for (let n = 0; n < count; n++) {
    const pick = n + Math.floor(next() * (pool.length - n));
    const chosen = pool[pick] as number;
    pool[pick] = pool[n] as number;
    pool[n] = chosen;
  }
  return pool.subarray(0, count).sort();
}
