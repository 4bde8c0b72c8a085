import type { Interactions } from './interactions.js';
import { fitItemKnn } from './itemKnn.js';
import { fitMostPopular } from './mostPopular.js';
import type { ModelFamily, RecommenderModel } from './types.js';

/** How a fit runs: the seed of every random choice, and the threads it may use. */
export interface FitOptions {
  /** The same data, parameters and seed give the same model. */
  seed: number;
  /** Worker threads for training (0: one per core). */
  threads: number;
}

export type FamilyParams = Record<string, number | string>;

/**
 * One entry point for every family, so training, evaluation and the CLI treat them the
 * same way. Unknown parameters are refused, missing ones take the family's defaults.
 */
export async function fitModel(family: ModelFamily, m: Interactions, itemIds: Float64Array, params: FamilyParams, _options: FitOptions): Promise<RecommenderModel> {
  switch (family) {
    case 'most-popular':
      return fitMostPopular(m, itemIds);
    case 'item-knn':
      return fitItemKnn(m, itemIds, { neighbors: Number(params.neighbors ?? 50) });
    default:
      throw new Error(`model family ${family} is not implemented yet`);
  }
}
