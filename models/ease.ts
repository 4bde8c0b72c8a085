import { countListens } from './counted.js';
import { itemPopularity, type Interactions } from './interactions.js';
import type { TaskRunner } from './training/runner.js';
import { sharedFloat32, sharedFloat64 } from './training/shared.js';
import type { RecommenderModel } from './types.js';

export interface EaseParams {
  /** λ, added to the Gram matrix's diagonal. */
  lambda: number;
  /** A cap on the catalogue EASE accepts besides what memory allows; 0: memory alone decides. */
  maxItems: number;
}

export const DEFAULT_EASE: EaseParams = { lambda: 500, maxItems: 0 };

/**
 * Bytes per item pair at EASE's peak: the Float64 matrix it inverts (8), the Float32
 * weights (4), and one more copy of the weights while the model is stored or scored (4).
 */
export const EASE_BYTES_PER_PAIR = 16;

/** The largest catalogue whose EASE fits in `budgetMb` megabytes. */
export function easeItemsWithin(budgetMb: number): number {
  return Math.floor(Math.sqrt((budgetMb * 2 ** 20) / EASE_BYTES_PER_PAIR));
}

/** Pivots swept together: each pass over the matrix applies this many at once. */
const BLOCK = 64;

/**
 * EASE (Steck 2019): with X the binary user x item matrix,
 *   G = XᵀX + λI,  P = G⁻¹,  B_ij = −P_ij / P_jj,  B_jj = 0,
 * and a user's score of item j is Σ over the distinct heard items h of B_hj.
 *
 * G is symmetric positive definite, so P is computed in Float64 by the sweep operator on
 * the upper triangle only, BLOCK pivots at a time (sweeping every pivot turns G into −G⁻¹):
 * with K the block's pivots and R the rest,
 *   A_KK ← −A_KK⁻¹,  A_RK ← A_RK·A_KK⁻¹,  A_RR ← A_RR − A_RK·A_KK⁻¹·A_KR.
 * Threads own interleaved rows (i mod parts), so the triangle's work is shared evenly; each
 * entry is computed by the same arithmetic whoever owns it: the model does not depend on
 * the thread count. Cost: items³/2 multiply-adds; memory: items² doubles + items² floats.
 */
export async function fitEaseOn(runner: TaskRunner, m: Interactions, itemIds: Float64Array, params: EaseParams, memoryMb: number): Promise<RecommenderModel> {
  const n = m.nItems;
  assertEaseFits(n, params.maxItems, memoryMb);
  const { byUser, byItem } = countListens(m);
  const matrix = sharedFloat64(n * n);
  const block = sharedFloat64(n * BLOCK);
  const parts = runner.parallelism;
  const each = <T>(task: (part: number) => T) => runner.runAll(Array.from({ length: parts }, (_, part) => task(part) as never));
  await each((part) => ({ kind: 'easeGram', n, part, parts, lambda: params.lambda, userOffsets: byUser.offsets, userItems: byUser.cols, itemOffsets: byItem.offsets, itemUsers: byItem.cols, matrix }));
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const kb = Math.min(BLOCK, n - k0);
    // Columns K are read before any thread changes them.
    await each((part) => ({ kind: 'easeExtract', n, part, parts, k0, kb, matrix, block }));
    await each((part) => ({ kind: 'easeSweep', n, part, parts, k0, kb, matrix, block }));
  }
  const weights = sharedFloat32(n * n);
  await each((part) => ({ kind: 'easeWeights', n, part, parts, matrix, weights }));
  return { family: 'ease', params: { lambda: params.lambda, maxItems: params.maxItems }, itemIds, popularity: itemPopularity(m), weights };
}

/**
 * Why EASE refuses this catalogue, or undefined if it fits: its memory grows as items², its
 * time as items³. The limit is what `memoryMb` (the training memory budget) holds, or
 * `maxItems` when that is set and lower.
 */
export function easeRefusal(nItems: number, maxItems: number, memoryMb: number): string | undefined {
  if (maxItems > 0 && nItems > maxItems) {
    return `EASE keeps a dense item x item matrix: the catalogue has ${nItems} items, more than maxItems ${maxItems} (raise maxItems, or use item-knn, rp3beta or als)`;
  }
  const within = easeItemsWithin(memoryMb);
  if (nItems <= within) return undefined;
  const gb = (bytes: number) => (bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GB` : `${Math.round(bytes / 2 ** 20)} MB`);
  return (
    `EASE keeps dense item x item matrices, ${EASE_BYTES_PER_PAIR} bytes per pair at its peak: the catalogue's ${nItems} items need ${gb(nItems * nItems * EASE_BYTES_PER_PAIR)}, ` +
    `more than the training memory budget of ${gb(memoryMb * 2 ** 20)} (MOOVITAMIX_TRAINING_MEMORY_MB) holds, which is ${within} items; use item-knn, rp3beta or als`
  );
}

export function assertEaseFits(nItems: number, maxItems: number, memoryMb: number): void {
  const refusal = easeRefusal(nItems, maxItems, memoryMb);
  if (refusal) throw new Error(refusal);
}

interface EasePart {
  n: number;
  /** This task owns rows i with i % parts === part. */
  part: number;
  parts: number;
  /** n x n, row-major; only the upper triangle (j >= i) is used. */
  matrix: Float64Array;
}

export interface EaseGramTask extends EasePart {
  kind: 'easeGram';
  lambda: number;
  userOffsets: Int32Array;
  userItems: Int32Array;
  itemOffsets: Int32Array;
  itemUsers: Int32Array;
}

/** Upper-triangle rows of XᵀX + λI: G_ij = users who heard both i and j. */
export function easeGram(t: EaseGramTask): void {
  const n = t.n;
  for (let i = t.part; i < n; i += t.parts) {
    const row = i * n;
    for (let p = t.itemOffsets[i] as number; p < (t.itemOffsets[i + 1] as number); p++) {
      const u = t.itemUsers[p] as number;
      // The user's items are ascending: skip to those at or after i.
      let q = t.userOffsets[u + 1] as number;
      while (q > (t.userOffsets[u] as number) && (t.userItems[q - 1] as number) >= i) q--;
      for (; q < (t.userOffsets[u + 1] as number); q++) t.matrix[row + (t.userItems[q] as number)]! += 1;
    }
    t.matrix[row + i]! += t.lambda;
  }
}

export interface EaseBlockTask extends EasePart {
  k0: number;
  kb: number;
  /** n x BLOCK: row i holds A[i][k0 .. k0+kb) as it was before this block's sweep. */
  block: Float64Array;
}

export interface EaseExtractTask extends EaseBlockTask {
  kind: 'easeExtract';
}

export function easeExtract(t: EaseExtractTask): void {
  const { n, k0, kb, matrix, block } = t;
  for (let i = t.part; i < n; i += t.parts) {
    const out = i * BLOCK;
    for (let a = 0; a < kb; a++) {
      const k = k0 + a;
      block[out + a] = i <= k ? (matrix[i * n + k] as number) : (matrix[k * n + i] as number);
    }
  }
}

export interface EaseSweepTask extends EaseBlockTask {
  kind: 'easeSweep';
}

export function easeSweep(t: EaseSweepTask): void {
  const { n, k0, kb, matrix, block } = t;
  const k1 = k0 + kb;
  // Every task inverts the small pivot block itself: the same arithmetic, the same result.
  const inverse = new Float64Array(kb * kb);
  for (let a = 0; a < kb; a++) for (let c = 0; c < kb; c++) inverse[a * kb + c] = block[(k0 + a) * BLOCK + c] as number;
  invertInPlace(inverse, kb);
  const w = new Float64Array(kb);
  for (let i = t.part; i < n; i += t.parts) {
    if (i >= k0 && i < k1) continue;
    // w = A_iK · A_KK⁻¹
    const ci = i * BLOCK;
    for (let a = 0; a < kb; a++) {
      let sum = 0;
      const row = a * kb;
      for (let c = 0; c < kb; c++) sum += (inverse[row + c] as number) * (block[ci + c] as number);
      w[a] = sum;
    }
    // A_ij −= w · A_Kj for j >= i outside K.
    const row = i * n;
    if (i < k0) {
      subtractRange(matrix, row, i, k0, w, block, kb);
      subtractRange(matrix, row, k1, n, w, block, kb);
      for (let a = 0; a < kb; a++) matrix[row + k0 + a] = w[a] as number;
    } else {
      subtractRange(matrix, row, i, n, w, block, kb);
      for (let a = 0; a < kb; a++) matrix[(k0 + a) * n + i] = w[a] as number;
    }
  }
  if (t.part === 0) {
    for (let a = 0; a < kb; a++) for (let c = a; c < kb; c++) matrix[(k0 + a) * n + k0 + c] = -(inverse[a * kb + c] as number);
  }
}

/** matrix[row + j] −= w · block[j] for j in [from, to): the inner loop of the whole fit. */
function subtractRange(matrix: Float64Array, row: number, from: number, to: number, w: Float64Array, block: Float64Array, kb: number): void {
  let j = from;
  // Two columns at a time: each w[a] loaded once serves both; two partial sums each.
  for (; j + 1 < to; j += 2) {
    const c0 = j * BLOCK;
    const c1 = c0 + BLOCK;
    let s0 = 0;
    let s1 = 0;
    let t0 = 0;
    let t1 = 0;
    let a = 0;
    for (; a + 1 < kb; a += 2) {
      const w0 = w[a] as number;
      const w1 = w[a + 1] as number;
      s0 += w0 * (block[c0 + a] as number);
      s1 += w1 * (block[c0 + a + 1] as number);
      t0 += w0 * (block[c1 + a] as number);
      t1 += w1 * (block[c1 + a + 1] as number);
    }
    if (a < kb) {
      s0 += (w[a] as number) * (block[c0 + a] as number);
      t0 += (w[a] as number) * (block[c1 + a] as number);
    }
    matrix[row + j]! -= s0 + s1;
    matrix[row + j + 1]! -= t0 + t1;
  }
  if (j < to) {
    const c0 = j * BLOCK;
    let s0 = 0;
    let s1 = 0;
    let a = 0;
    for (; a + 1 < kb; a += 2) {
      s0 += (w[a] as number) * (block[c0 + a] as number);
      s1 += (w[a + 1] as number) * (block[c0 + a + 1] as number);
    }
    if (a < kb) s0 += (w[a] as number) * (block[c0 + a] as number);
    matrix[row + j]! -= s0 + s1;
  }
}

/** Gauss-Jordan inversion without pivoting: enough for a symmetric positive-definite matrix. */
export function invertInPlace(a: Float64Array, n: number): void {
  for (let k = 0; k < n; k++) {
    const pivotRow = k * n;
    const pivot = a[pivotRow + k] as number;
    if (!(pivot > 0)) throw new Error('EASE: the Gram matrix is not positive definite (is lambda > 0?)');
    a[pivotRow + k] = 1;
    for (let j = 0; j < n; j++) a[pivotRow + j]! /= pivot;
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const row = i * n;
      const factor = a[row + k] as number;
      if (factor === 0) continue;
      a[row + k] = 0;
      for (let j = 0; j < n; j++) a[row + j]! -= factor * (a[pivotRow + j] as number);
    }
  }
}

export interface EaseWeightsTask extends EasePart {
  kind: 'easeWeights';
  weights: Float32Array;
}

/** B_ij = −P_ij / P_jj with P = −A (the swept matrix): −A_ij / A_jj; B_ii = 0. */
export function easeWeights(t: EaseWeightsTask): void {
  const { n, matrix, weights } = t;
  for (let i = t.part; i < n; i += t.parts) {
    const row = i * n;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const a = j >= i ? (matrix[row + j] as number) : (matrix[j * n + i] as number);
      weights[row + j] = -a / (matrix[j * n + j] as number);
    }
  }
}
