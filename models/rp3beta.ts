import { countListens } from './counted.js';
import type { Interactions } from './interactions.js';
import { fitNeighboursOn } from './itemKnn.js';
import { sharedFloat32 } from './training/shared.js';
import type { RecommenderModel } from './types.js';
import type { TaskRunner } from './training/taskRunner.js';

export interface Rp3betaParams {
  /** Neighbours kept per item. */
  neighbors: number;
  /** Exponent of the transition probabilities (1: a plain random walk). */
  alpha: number;
  /** How much a popular destination is discounted: similarities to j are divided by popularity_j^beta. */
  beta: number;
}

/** The development data's validation-tuned setting (docs/models.md). */
export const DEFAULT_RP3BETA = { neighbors: 100, alpha: 1, beta: 0.3 } as const satisfies Rp3betaParams;

/**
 * RP3beta (Paudel et al. 2017; as in Dacrema et al. 2019's reference code): a random walk
 * of three steps, item → user → item, with the destination's popularity discounted:
 *
 *   P_iu = 1 / listeners_i                     (from an item to one of its listeners)
 *   P_uj = r_uj / Σ_j' r_uj'                    (from a user to what they heard, by listens)
 *   sim(i, j) = Σ_u P_iu^alpha · P_uj^alpha / listeners_j^beta,  i ≠ j
 *
 * each item keeping its `neighbors` best, scored as item-kNN is (a user's heard items vote
 * with their similarities). Shares item-kNN's kernel, and so its threads and determinism.
 */
export function fitRp3betaOn(runner: TaskRunner, m: Interactions, itemIds: Float64Array, params: Rp3betaParams = DEFAULT_RP3BETA): Promise<RecommenderModel> {
  const k = Math.max(1, Math.floor(params.neighbors));
  const { alpha, beta } = params;
  const listens = countListens(m);
  const { byUser, byItem } = listens;
  const listenersOf = (i: number) => (byItem.offsets[i + 1] as number) - (byItem.offsets[i] as number);
  const itemSide = sharedFloat32(byItem.cols.length);
  for (let i = 0; i < byItem.nRows; i++) {
    const step = (1 / listenersOf(i)) ** alpha;
    for (let p = byItem.offsets[i] as number; p < (byItem.offsets[i + 1] as number); p++) itemSide[p] = step;
  }
  const userSide = sharedFloat32(byUser.cols.length);
  for (let u = 0; u < byUser.nRows; u++) {
    const from = byUser.offsets[u] as number;
    const to = byUser.offsets[u + 1] as number;
    let total = 0;
    for (let p = from; p < to; p++) total += byUser.counts[p] as number;
    for (let p = from; p < to; p++) userSide[p] = ((byUser.counts[p] as number) / total) ** alpha;
  }
  const columnScale = new Float64Array(byItem.nRows);
  for (let j = 0; j < byItem.nRows; j++) columnScale[j] = listenersOf(j) > 0 ? listenersOf(j) ** -beta : 0;
  return fitNeighboursOn(runner, m, itemIds, {
    family: 'rp3beta',
    params: { neighbors: k, alpha, beta },
    k,
    listens,
    weights: { byUser: userSide, byItem: itemSide },
    cosine: false,
    columnScale,
  });
}
