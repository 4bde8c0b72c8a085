import type { CountedListens } from './counted.js';
import { sharedFloat32 } from './training/shared.js';

/**
 * BM25 weights of the user x item listen counts, as `bm25_weight` in the `implicit`
 * library: users are the documents, items the terms. With N users, df_i the users who heard
 * item i, r_ui user u's listens of item i and len_u = Σ_i r_ui (avg: the mean over all users):
 *
 *   idf_i  = ln(N) − ln(1 + df_i)
 *   norm_u = (1 − b) + b · len_u / avg
 *   w_ui   = r_ui · (k1 + 1) / (k1 · norm_u + r_ui) · idf_i
 *
 * A rare item weighs more than one everybody plays, a repeat listen less than a first one,
 * and a heavy listener's each listen less than a light listener's.
 * Returns w aligned with `byUser.cols` and with `byItem.cols` (the same values, two orders).
 */
export function bm25Weights(listens: CountedListens, k1: number, b: number): { byUser: Float32Array; byItem: Float32Array } {
  const { byUser, byItem } = listens;
  const nUsers = byUser.nRows;
  const idf = new Float64Array(byItem.nRows);
  for (let i = 0; i < byItem.nRows; i++) idf[i] = Math.log(nUsers) - Math.log1p((byItem.offsets[i + 1] as number) - (byItem.offsets[i] as number));
  const norm = new Float64Array(nUsers);
  let total = 0;
  for (let p = 0; p < byUser.counts.length; p++) total += byUser.counts[p] as number;
  const average = nUsers > 0 ? total / nUsers : 0;
  for (let u = 0; u < nUsers; u++) {
    let length = 0;
    for (let p = byUser.offsets[u] as number; p < (byUser.offsets[u + 1] as number); p++) length += byUser.counts[p] as number;
    norm[u] = 1 - b + (average > 0 ? (b * length) / average : 0);
  }
  const weight = (u: number, i: number, r: number) => ((r * (k1 + 1)) / (k1 * (norm[u] as number) + r)) * (idf[i] as number);
  const userSide = sharedFloat32(byUser.cols.length);
  for (let u = 0; u < nUsers; u++) {
    for (let p = byUser.offsets[u] as number; p < (byUser.offsets[u + 1] as number); p++) userSide[p] = weight(u, byUser.cols[p] as number, byUser.counts[p] as number);
  }
  const itemSide = sharedFloat32(byItem.cols.length);
  for (let i = 0; i < byItem.nRows; i++) {
    for (let p = byItem.offsets[i] as number; p < (byItem.offsets[i + 1] as number); p++) itemSide[p] = weight(byItem.cols[p] as number, i, byItem.counts[p] as number);
  }
  return { byUser: userSide, byItem: itemSide };
}
