import { seededRandom } from '../seededRandom.js';
import type { PairedInterval } from '../../contracts/training.js';

/**
 * A paired bootstrap of the mean difference between two models' per-user scores on the
 * same test users (a[t] and b[t] are user t's): users are drawn with replacement
 * `resamples` times, and the interval is the middle `level` of the resampled means
 * (percentile method). Pairing keeps what the users share (an easy user is easy for both),
 * so the interval is far narrower than two separate standard errors would give.
 */
export function pairedBootstrap(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: { resamples?: number; level?: number; seed?: number } = {},
): PairedInterval {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`paired bootstrap: ${n} scores against ${b.length}`);
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const diff = new Float64Array(n);
  let total = 0;
  for (let t = 0; t < n; t++) total += diff[t] = (a[t] as number) - (b[t] as number);
  if (n === 0) return { mean: 0, low: 0, high: 0, level, resamples, users: 0 };
  const random = seededRandom(options.seed ?? 1);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let t = 0; t < n; t++) sum += diff[Math.floor(random() * n)] as number;
    means[r] = sum / n;
  }
  means.sort();
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))] as number;
  return { mean: total / n, low: at((1 - level) / 2), high: at(1 - (1 - level) / 2), level, resamples, users: n };
}
