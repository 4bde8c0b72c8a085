import type { ModelFamily } from '../contracts/names.js';
export interface RecommenderModel {
  family: ModelFamily;
  /** Hyper-parameters, as stored with the model (numbers and strings only). */
  params: Record<string, number | string>;
  /** Track id of each item; ids are safe integers, hence Float64. */
  itemIds: Float64Array;
  /** Listens of each item in the training data. */
  popularity: Float32Array;
  /** item-knn and rp3beta: item i's neighbours are neighbors[neighborOffsets[i] .. neighborOffsets[i+1]), best first. */
  neighborOffsets?: Int32Array;
  neighbors?: Int32Array;
  similarities?: Float32Array;
  /** als: item i's latent factors are itemFactors[i*f .. (i+1)*f), f = params.factors. */
  itemFactors?: Float32Array;
  /** ease: the dense item x item weights, row-major (weights[i*n + j]: how much hearing i suggests j). */
  weights?: Float32Array;
}

/**
 * Why a track was recommended. Codes are stored with chunks: append new reasons, never
 * renumber. `taste`: a latent-factor model (ALS) predicts the user likes it.
 */
export const REASONS = ['similar', 'popular', 'cold_start_genre', 'cold_start_popular', 'taste'] as const;
export type Reason = (typeof REASONS)[number];
export const REASON_CODE: Readonly<Record<Reason, number>> = { similar: 0, popular: 1, cold_start_genre: 2, cold_start_popular: 3, taste: 4 };

/** How many listened tracks are named as the reason of one recommendation. */
export const BECAUSE_SLOTS = 3;
