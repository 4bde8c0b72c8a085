/*
 * Ranking metrics of top-K lists against each user's held-out items (binary relevance).
 * With n = |holdout| and hits the held-out items among the first K recommendations:
 *   hit_rate@K         1 if any hit, else 0
 *   recall@K           hits / min(K, n): normalised so a perfect list scores 1 even when
 *                      n > K (as in Liang et al. 2018); with one held-out item (leave-last-out)
 *                      it equals the hit rate
 *   ndcg@K             DCG / ideal DCG, DCG = sum over hit ranks r (1-based) of 1/log2(r+1),
 *                      the ideal placing min(K, n) hits first
 *   map@K              AP@K = (sum over hit ranks r of precision@r) / min(K, n), averaged
 *   coverage@K         distinct items in all evaluated users' top K / catalogue size
 *   mean_popularity@K  mean training listens of the recommended items, over every
 *                      (user, rank <= K) slot: high means the model plays the hits
 * User metrics are averaged over the evaluated users; a list shorter than K counts its
 * missing ranks as misses.
 */

export const CUTOFFS = [10, 20] as const;
/** The deepest cutoff: how many recommendations per user the metrics read. */
export const DEEPEST_CUTOFF = Math.max(...CUTOFFS);
export const METRIC_KEYS = [
  'hit_rate@10',
  'recall@10',
  'ndcg@10',
  'map@10',
  'hit_rate@20',
  'recall@20',
  'ndcg@20',
  'map@20',
  'coverage@10',
  'coverage@20',
  'mean_popularity@10',
  'mean_popularity@20',
] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

/** Every metric, plus the number of users they were averaged over. */
export type Metrics = Record<MetricKey, number> & { users: number };

/** Ranked lists and the held-out sets they are judged against, user by user (aligned). */
export interface RankedLists {
  /** User t's list, best first: items[offsets[t] .. offsets[t+1]). */
  offsets: Int32Array;
  items: Int32Array;
}

export interface Holdout {
  /** User t's held-out items: items[offsets[t] .. offsets[t+1]), distinct. */
  offsets: Int32Array;
  items: Int32Array;
}

/** hit[r] = 1 when rank r+1 is relevant; `relevant` = |holdout|. */
export function hitRateAt(hit: ArrayLike<number>, k: number): number {
  for (let r = 0; r < Math.min(k, hit.length); r++) if (hit[r] === 1) return 1;
  return 0;
}

export function recallAt(hit: ArrayLike<number>, relevant: number, k: number): number {
  if (relevant === 0) return 0;
  let hits = 0;
  for (let r = 0; r < Math.min(k, hit.length); r++) hits += hit[r] as number;
  return hits / Math.min(k, relevant);
}

export function ndcgAt(hit: ArrayLike<number>, relevant: number, k: number): number {
  if (relevant === 0) return 0;
  let dcg = 0;
  for (let r = 0; r < Math.min(k, hit.length); r++) if (hit[r] === 1) dcg += 1 / Math.log2(r + 2);
  let ideal = 0;
  for (let r = 0; r < Math.min(k, relevant); r++) ideal += 1 / Math.log2(r + 2);
  return dcg / ideal;
}

export function averagePrecisionAt(hit: ArrayLike<number>, relevant: number, k: number): number {
  if (relevant === 0) return 0;
  let hits = 0;
  let sum = 0;
  for (let r = 0; r < Math.min(k, hit.length); r++) {
    if (hit[r] !== 1) continue;
    hits++;
    sum += hits / (r + 1);
  }
  return sum / Math.min(k, relevant);
}

/**
 * Every metric over aligned lists and holdouts. `popularity[i]` is item i's training
 * listens, `nItems` the catalogue size coverage is measured against. `perUserNdcg`, when
 * given, receives each user's ndcg@10 (what a paired comparison of two models needs).
 */
export function computeMetrics(lists: RankedLists, holdout: Holdout, popularity: ArrayLike<number>, nItems: number, perUserNdcg?: Float64Array): Metrics {
  const users = holdout.offsets.length - 1;
  if (lists.offsets.length !== holdout.offsets.length) throw new RangeError(`metrics: ${lists.offsets.length - 1} lists for ${users} holdouts`);
  // Per cutoff (index c of CUTOFFS): sums over users, and over recommended slots.
  const sums = CUTOFFS.map(() => ({ hitRate: 0, recall: 0, ndcg: 0, map: 0, popularity: 0, slots: 0 }));
  // relevantOf[i] === t + 1: item i is in user t's holdout.
  const relevantOf = new Int32Array(nItems);
  // bestRank[i]: the best rank (0-based) item i reached in anyone's list, for coverage.
  const bestRank = new Int32Array(nItems).fill(DEEPEST_CUTOFF);
  const hit = new Uint8Array(DEEPEST_CUTOFF);
  for (let t = 0; t < users; t++) {
    const hFrom = holdout.offsets[t] as number;
    const hTo = holdout.offsets[t + 1] as number;
    for (let p = hFrom; p < hTo; p++) relevantOf[holdout.items[p] as number] = t + 1;
    const from = lists.offsets[t] as number;
    const length = Math.min(DEEPEST_CUTOFF, (lists.offsets[t + 1] as number) - from);
    hit.fill(0);
    for (let r = 0; r < length; r++) {
      const item = lists.items[from + r] as number;
      if (relevantOf[item] === t + 1) hit[r] = 1;
      if (r < (bestRank[item] as number)) bestRank[item] = r;
    }
    const relevant = hTo - hFrom;
    CUTOFFS.forEach((k, c) => {
      const sum = sums[c]!;
      sum.hitRate += hitRateAt(hit, k);
      sum.recall += recallAt(hit, relevant, k);
      const ndcg = ndcgAt(hit, relevant, k);
      sum.ndcg += ndcg;
      if (perUserNdcg && k === 10) perUserNdcg[t] = ndcg;
      sum.map += averagePrecisionAt(hit, relevant, k);
      for (let r = 0; r < Math.min(k, length); r++) sum.popularity += popularity[lists.items[from + r] as number] as number;
      sum.slots += Math.min(k, length);
    });
  }
  const metrics: Record<string, number> = { users };
  CUTOFFS.forEach((k, c) => {
    const sum = sums[c]!;
    const mean = (total: number) => (users > 0 ? total / users : 0);
    metrics[`hit_rate@${k}`] = mean(sum.hitRate);
    metrics[`recall@${k}`] = mean(sum.recall);
    metrics[`ndcg@${k}`] = mean(sum.ndcg);
    metrics[`map@${k}`] = mean(sum.map);
    let covered = 0;
    for (let i = 0; i < nItems; i++) if ((bestRank[i] as number) < k) covered++;
    metrics[`coverage@${k}`] = nItems > 0 ? covered / nItems : 0;
    metrics[`mean_popularity@${k}`] = sum.slots > 0 ? sum.popularity / sum.slots : 0;
  });
  // The documented key order, `users` last.
  return Object.fromEntries([...METRIC_KEYS, 'users'].map((key) => [key, metrics[key] as number])) as Metrics;
}
