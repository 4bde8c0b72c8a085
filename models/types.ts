/**
 * A recommendation model over dense item indices 0..n-1 (`itemIds[i]` is the track id of
 * item i). Every family carries the popularity of its training data: it ranks the
 * cold-start lists and pads a personal list that comes up short.
 */
export type ModelFamily = 'most-popular' | 'item-knn';

export interface RecommenderModel {
  family: ModelFamily;
  /** Hyper-parameters, as stored with the model (numbers and strings only). */
  params: Record<string, number | string>;
  /** Track id of each item; ids are safe integers, hence Float64. */
  itemIds: Float64Array;
  /** Listens of each item in the training data. */
  popularity: Float32Array;
  /** item-knn: item i's neighbours are neighbors[neighborOffsets[i] .. neighborOffsets[i+1]), best first. */
  neighborOffsets?: Int32Array;
  neighbors?: Int32Array;
  similarities?: Float32Array;
}

/** What identifies a model in the registry and in every recommendation it made. */
export interface ModelRef {
  /** `<name>@<version>` for a registered model, `most-popular@<content hash>` for the fallback. */
  key: string;
  name: string;
  version: string;
  family: ModelFamily;
}

/** Why a track was recommended. */
export const REASONS = ['similar', 'popular', 'cold_start_genre', 'cold_start_popular'] as const;
export type Reason = (typeof REASONS)[number];
export const REASON_CODE: Readonly<Record<Reason, number>> = { similar: 0, popular: 1, cold_start_genre: 2, cold_start_popular: 3 };

/** How many listened tracks are named as the reason of one recommendation. */
export const BECAUSE_SLOTS = 3;
