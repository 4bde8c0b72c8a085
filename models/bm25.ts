import type { CountedListens } from './counted.js';
import { sharedFloat32 } from './training/shared.js';

/**
 * Which side BM25 takes as its documents. `items` is `implicit`'s; `users` is the other
 * reading (idf per item, length per user: a rare track weighs more, a heavy listener's each
 * listen less), which this project used first and which ranked better on the development
 * data (docs/models.md).
 */
export type Bm25Documents = 'items' | 'users';

/**
 * BM25 weights of the user x item listen counts, as `implicit`'s BM25Recommender computes
 * them: `bm25_weight` over the item x user matrix, so items are the documents and users
 * the terms. With N items (the whole catalogue), |I_u| the items user u heard, r_ui u's
 * listens of item i and pop_i = Σ_u r_ui (avg: the mean over all N items):
 *
 *   idf_u  = ln(N) − ln(1 + |I_u|)
 *   norm_i = (1 − b) + b · pop_i / avg
 *   w_ui   = r_ui · (k1 + 1) / (k1 · norm_i + r_ui) · idf_u
 *
 * A listener of few items says more about each than one who heard half the catalogue, a
 * repeat listen weighs less than a first one, and each listener of a hit less than each
 * listener of a niche track. Checked against implicit 0.7.3 (test/unit/trainModels.test.ts).
 * With `documents` = 'users', the roles swap: idf_i = ln(N users) − ln(1 + listeners of i),
 * norm_u from u's listens over the mean per user, w_ui = r_ui (k1 + 1) / (k1 norm_u + r_ui) idf_i.
 * Returns w aligned with `byUser.cols` and with `byItem.cols` (the same values, two orders).
 */
export function bm25Weights(
  listens: CountedListens,
  k1: number,
  b: number,
  documents: Bm25Documents = 'items',
): { byUser: Float32Array; byItem: Float32Array } {
  if (documents === 'users') {
    // The same formula over the transposed listens, its weights read back in the two orders.
    const w = bm25Weights({ byUser: listens.byItem, byItem: listens.byUser }, k1, b);
    return { byUser: w.byItem, byItem: w.byUser };
  }
  const { byUser, byItem } = listens;
  const nItems = byItem.nRows;
  const idf = new Float64Array(byUser.nRows);
  for (let u = 0; u < byUser.nRows; u++) idf[u] = Math.log(nItems) - Math.log1p((byUser.offsets[u + 1] as number) - (byUser.offsets[u] as number));
  const norm = new Float64Array(nItems);
  let total = 0;
  for (let p = 0; p < byItem.counts.length; p++) total += byItem.counts[p] as number;
  const average = nItems > 0 ? total / nItems : 0;
  for (let i = 0; i < nItems; i++) {
    let popularity = 0;
    for (let p = byItem.offsets[i] as number; p < (byItem.offsets[i + 1] as number); p++) popularity += byItem.counts[p] as number;
    norm[i] = 1 - b + (average > 0 ? (b * popularity) / average : 0);
  }
  const weight = (u: number, i: number, r: number) => ((r * (k1 + 1)) / (k1 * (norm[i] as number) + r)) * (idf[u] as number);
  const userSide = sharedFloat32(byUser.cols.length);
  for (let u = 0; u < byUser.nRows; u++) {
    for (let p = byUser.offsets[u] as number; p < (byUser.offsets[u + 1] as number); p++)
      userSide[p] = weight(u, byUser.cols[p] as number, byUser.counts[p] as number);
  }
  const itemSide = sharedFloat32(byItem.cols.length);
  for (let i = 0; i < nItems; i++) {
    for (let p = byItem.offsets[i] as number; p < (byItem.offsets[i + 1] as number); p++)
      itemSide[p] = weight(byItem.cols[p] as number, i, byItem.counts[p] as number);
  }
  return { byUser: userSide, byItem: itemSide };
}
