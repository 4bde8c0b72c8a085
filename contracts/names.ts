// The names every layer shares: the API's sources and the model families.

export const SOURCE_NAMES = ['tracks', 'users', 'listen_history'] as const;

export type SourceName = (typeof SOURCE_NAMES)[number];

/**
 * A recommendation model over dense item indices 0..n-1 (`itemIds[i]` is the track id of
 * item i). Every family carries the popularity of its training data: it ranks the
 * cold-start lists and pads a personal list that comes up short.
 */
export const MODEL_FAMILIES = ['most-popular', 'item-knn', 'rp3beta', 'als', 'ease'] as const;

export type ModelFamily = (typeof MODEL_FAMILIES)[number];
