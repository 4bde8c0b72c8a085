import { countListens } from './counted.js';
import { itemPopularity, type Interactions } from './interactions.js';
import type { RecommenderModel } from './types.js';
import { KernelArena, easeKernel } from './wasmKernels.js';
import type { TaskRunner } from './training/taskRunner.js';

export interface EaseParams {
  /** λ, added to the Gram matrix's diagonal. */
  lambda: number;
  /** A cap on the catalogue EASE accepts besides what memory allows; 0: memory alone decides. */
  maxItems: number;
}

export const DEFAULT_EASE: EaseParams = { lambda: 500, maxItems: 0 };

/**
 * Bytes per item pair at EASE's peak: the Float32 matrix inverted in place into the
 * weights (4), and one more copy of the weights while the model is stored or scored (4).
 */
export const EASE_BYTES_PER_PAIR = 8;

/** One WebAssembly memory (4 GiB) holds the matrix of at most this many items, with room for the rest. */
export const EASE_WASM_ITEMS = 32_000;

/** The largest catalogue whose EASE fits in `budgetMb` megabytes (and in one WebAssembly memory). */
export function easeItemsWithin(budgetMb: number): number {
  return Math.min(EASE_WASM_ITEMS, Math.floor(Math.sqrt((budgetMb * 2 ** 20) / EASE_BYTES_PER_PAIR)));
}

/** Pivots swept together: each pass over the matrix applies this many at once. */
const BLOCK = 64;

/**
 * EASE (Steck 2019): with X the binary user x item matrix,
 *   G = XᵀX + λI,  P = G⁻¹,  B_ij = −P_ij / P_jj,  B_jj = 0,
 * and a user's score of item j is Σ over the distinct heard items h of B_hj.
 *
 * G is symmetric positive definite, so P is computed by the sweep operator on the upper
 * triangle only, BLOCK pivots at a time (sweeping every pivot turns G into −G⁻¹): with K
 * the block's pivots and R the rest,
 *   A_KK ← −A_KK⁻¹,  A_RK ← A_RK·A_KK⁻¹,  A_RR ← A_RR − A_RK·A_KK⁻¹·A_KR.
 * In float32 by the SIMD kernels of models/wasm/ease.ts, as numpy's float32 inverse would
 * (the pivot blocks, 64 x 64, are inverted in float64), and the weights written over the
 * matrix in place. Threads own interleaved rows (i mod parts), so the triangle's work is
 * shared evenly; each entry is computed by the same arithmetic whoever owns it: the model
 * does not depend on the thread count. Cost: items³/2 multiply-adds; memory: items² floats.
 */
export async function fitEaseOn(
  runner: TaskRunner,
  m: Interactions,
  itemIds: Float64Array,
  params: EaseParams,
  memoryMb: number,
  onProgress?: (done: number) => void,
): Promise<RecommenderModel> {
  const n = m.nItems;
  assertEaseFits(n, params.maxItems, memoryMb);
  const { byUser, byItem } = countListens(m);
  const parts = runner.parallelism;
  const plan = new KernelArena();
  const slots = {
    matrix: plan.f32(n * n),
    blockT: plan.f32(BLOCK * n),
    w: plan.f32(n * BLOCK),
    inverse: plan.f32(BLOCK * BLOCK),
    diagonal: plan.f32(n),
    scratch: plan.f32(parts * BLOCK),
  };
  const arena = plan.open(`EASE on ${n} items`);
  const { memory } = arena;
  const [matrix, blockT, inverse] = [arena.f32(slots.matrix), arena.f32(slots.blockT), arena.f32(slots.inverse)];
  const at = {
    matrix: arena.address(slots.matrix),
    blockT: arena.address(slots.blockT),
    w: arena.address(slots.w),
    inverse: arena.address(slots.inverse),
    diagonal: arena.address(slots.diagonal),
  };
  const each = <T>(task: (part: number) => T) => runner.runAll(Array.from({ length: parts }, (_, part) => task(part) as never));
  await each((part) => ({
    kind: 'easeGram',
    memory,
    matrix: at.matrix,
    n,
    part,
    parts,
    lambda: params.lambda,
    userOffsets: byUser.offsets,
    userItems: byUser.cols,
    itemOffsets: byItem.offsets,
    itemUsers: byItem.cols,
  }));
  const pivots = new Float64Array(BLOCK * BLOCK);
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const kb = Math.min(BLOCK, n - k0);
    // Columns K are read before any thread changes them.
    await each((part) => ({ kind: 'easeExtract', memory, matrix: at.matrix, n, part, parts, blockT: at.blockT, k0, kb }));
    // A_KK⁻¹, once, in float64: small (kb³) next to the sweep.
    for (let a = 0; a < kb; a++) for (let c = 0; c < kb; c++) pivots[a * kb + c] = blockT[c * n + k0 + a] as number;
    invertInPlace(pivots, kb);
    inverse.set(pivots.subarray(0, kb * kb));
    await each((part) => ({
      kind: 'easeSweep',
      memory,
      matrix: at.matrix,
      n,
      part,
      parts,
      blockT: at.blockT,
      inverse: at.inverse,
      w: at.w,
      k0,
      kb,
      scratch: arena.address(slots.scratch) + part * BLOCK * 4,
    }));
    for (let a = 0; a < kb; a++) for (let c = a; c < kb; c++) matrix[(k0 + a) * n + k0 + c] = -(pivots[a * kb + c] as number);
    onProgress?.((k0 + kb) / n);
  }
  const diagonal = arena.f32(slots.diagonal);
  for (let j = 0; j < n; j++) diagonal[j] = matrix[j * n + j] as number;
  await each((part) => ({ kind: 'easeWeights', memory, matrix: at.matrix, n, part, parts, diagonal: at.diagonal }));
  // The weights are the matrix: the memory it lives in is the model's (items² floats and a few rows).
  return { family: 'ease', params: { lambda: params.lambda, maxItems: params.maxItems }, itemIds, popularity: itemPopularity(m), weights: matrix };
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
  const need = `the catalogue's ${nItems} items need ${gb(nItems * nItems * EASE_BYTES_PER_PAIR)}`;
  if (within === EASE_WASM_ITEMS && nItems * nItems * EASE_BYTES_PER_PAIR <= memoryMb * 2 ** 20) {
    return `EASE inverts a dense item x item matrix in one WebAssembly memory, which holds at most 4 GiB: ${EASE_WASM_ITEMS} items; the catalogue has ${nItems}; use item-knn, rp3beta or als`;
  }
  return (
    `EASE keeps dense item x item matrices, ${EASE_BYTES_PER_PAIR} bytes per pair at its peak: ${need}, ` +
    `more than the training memory budget of ${gb(memoryMb * 2 ** 20)} (MOOVITAMIX_TRAINING_MEMORY_MB) holds, which is ${within} items; use item-knn, rp3beta or als`
  );
}

export function assertEaseFits(nItems: number, maxItems: number, memoryMb: number): void {
  const refusal = easeRefusal(nItems, maxItems, memoryMb);
  if (refusal) throw new Error(refusal);
}

interface EasePart {
  /** The fit's WebAssembly memory; `matrix` is a byte address in it. */
  memory: WebAssembly.Memory;
  /** n x n float32, row-major; only the upper triangle (j >= i) is used until the weights. */
  matrix: number;
  n: number;
  /** This task owns rows i with i % parts === part. */
  part: number;
  parts: number;
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
  const matrix = new Float32Array(t.memory.buffer, t.matrix, n * n);
  for (let i = t.part; i < n; i += t.parts) {
    const row = i * n;
    for (let p = t.itemOffsets[i] as number; p < (t.itemOffsets[i + 1] as number); p++) {
      const u = t.itemUsers[p] as number;
      // The user's items are ascending: skip to those at or after i.
      let q = t.userOffsets[u + 1] as number;
      while (q > (t.userOffsets[u] as number) && (t.userItems[q - 1] as number) >= i) q--;
      for (; q < (t.userOffsets[u + 1] as number); q++) matrix[row + (t.userItems[q] as number)]! += 1;
    }
    matrix[row + i]! += t.lambda;
  }
}

export interface EaseBlockTask extends EasePart {
  k0: number;
  kb: number;
  /** BLOCK x n: blockT[a·n + i] holds A[i][k0 + a] as it was before this block's sweep. */
  blockT: number;
}

export interface EaseExtractTask extends EaseBlockTask {
  kind: 'easeExtract';
}

export function easeExtract(t: EaseExtractTask): void {
  easeKernel(t.memory).extract(t.matrix, t.n, t.blockT, t.k0, t.kb, t.part, t.parts);
}

export interface EaseSweepTask extends EaseBlockTask {
  kind: 'easeSweep';
  /** A_KK⁻¹, kb x kb float32. */
  inverse: number;
  /** n x BLOCK floats: row i's A_iK·A_KK⁻¹, written by the task owning row i. */
  w: number;
  /** BLOCK floats of the task's own. */
  scratch: number;
}

export function easeSweep(t: EaseSweepTask): void {
  easeKernel(t.memory).sweep(t.matrix, t.n, t.blockT, t.inverse, t.k0, t.kb, t.part, t.parts, t.scratch, t.w);
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
  /** The swept matrix's diagonal, n float32. */
  diagonal: number;
}

/** B_ij = −P_ij / P_jj with P = −A (the swept matrix), in place; B_ii = 0. */
export function easeWeights(t: EaseWeightsTask): void {
  easeKernel(t.memory).weights(t.matrix, t.n, t.diagonal, t.part, t.parts);
}
