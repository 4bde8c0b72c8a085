import { itemPopularity, type Interactions } from './interactions.js';
import type { RecommenderModel } from './types.js';

/** The baseline: every user gets the most listened tracks they have not heard. */
export function fitMostPopular(m: Interactions, itemIds: Float64Array): RecommenderModel {
  return { family: 'most-popular', params: {}, itemIds, popularity: itemPopularity(m) };
}
