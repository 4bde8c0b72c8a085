import { cgScratch, gramRows, solveRow } from './alsSolve.js';
import { countListens, type CountedMatrix } from './counted.js';
import { itemPopularity, type Interactions } from './interactions.js';
import { seededRandom } from './seededRandom.js';
import type { TaskRunner } from './training/runner.js';
import { sharedFloat32, sharedFloat64 } from './training/shared.js';
import { splitRange } from './training/split.js';
import type { RecommenderModel } from './types.js';

export interface AlsParams {
  /** Latent factors per user and item. */
  factors: number;
  /** Alternations: each solves every user, then every item. */
  iterations: number;
  /** λ, the weight of |x|² in each row's least squares. */
  regularization: number;
  /** Confidence of a heard item: 1 + alpha · listens. */
  alpha: number;
  /** Conjugate-gradient steps per row and half-iteration. */
  cgSteps: number;
}

export const DEFAULT_ALS: AlsParams = { factors: 64, iterations: 15, regularization: 0.01, alpha: 1, cgSteps: 3 };

/** Initial factors are uniform in [0, INITIAL_SCALE), as in `implicit`. */
const INITIAL_SCALE = 0.01;

/**
 * Implicit-feedback ALS (Hu, Koren, Volinsky 2008) with a conjugate-gradient solver
 * (see alsSolve.ts). Factors start from a PRNG seeded with `seed`; each half-iteration
 * first computes the Gram matrix of the fixed side (split by its rows of f x f), then
 * solves the other side's rows warm-started from their current values (split by rows).
 * Every row is computed the same way whichever thread does it: the model does not depend
 * on the thread count. Only the item factors are kept: scoring folds a user in from the
 * history (models/score.ts).
 */
export async function fitAlsOn(runner: TaskRunner, m: Interactions, itemIds: Float64Array, params: AlsParams, seed: number): Promise<RecommenderModel> {
  const f = params.factors;
  const { byUser, byItem } = countListens(m);
  const userFactors = sharedFloat32(m.nUsers * f);
  const itemFactors = sharedFloat32(m.nItems * f);
  const next = seededRandom(seed);
  for (let n = 0; n < userFactors.length; n++) userFactors[n] = next() * INITIAL_SCALE;
  for (let n = 0; n < itemFactors.length; n++) itemFactors[n] = next() * INITIAL_SCALE;
  const gram = sharedFloat64(f * f);
  const half = async (target: Float32Array, fixed: Float32Array, rows: CountedMatrix) => {
    await runner.runAll(splitRange(f, runner.parallelism, () => 1).map(([from, to]) => ({ kind: 'alsGram', factors: fixed, nRows: rows.nCols, f, regularization: params.regularization, gram, from, to })));
    const cost = (r: number) => f + 2 * ((rows.offsets[r + 1] as number) - (rows.offsets[r] as number));
    const parts = runner.parallelism === 1 ? 1 : runner.parallelism * 4;
    await runner.runAll(
      splitRange(rows.nRows, parts, cost).map(([from, to]) => ({ kind: 'alsSolve', target, fixed, f, gram, offsets: rows.offsets, cols: rows.cols, counts: rows.counts, alpha: params.alpha, cgSteps: params.cgSteps, from, to })),
    );
  };
  for (let it = 0; it < params.iterations; it++) {
    await half(userFactors, itemFactors, byUser);
    await half(itemFactors, userFactors, byItem);
  }
  return {
    family: 'als',
    params: { factors: f, iterations: params.iterations, regularization: params.regularization, alpha: params.alpha, cgSteps: params.cgSteps, seed },
    itemIds,
    popularity: itemPopularity(m),
    itemFactors,
  };
}

export interface AlsGramTask {
  kind: 'alsGram';
  factors: Float32Array;
  nRows: number;
  f: number;
  regularization: number;
  gram: Float64Array;
  from: number;
  to: number;
}

export function alsGram(t: AlsGramTask): void {
  gramRows(t.factors, t.nRows, t.f, t.regularization, t.gram, t.from, t.to);
}

/** Solves rows [from, to) of `target` against the fixed side. */
export interface AlsSolveTask {
  kind: 'alsSolve';
  target: Float32Array;
  fixed: Float32Array;
  f: number;
  gram: Float64Array;
  offsets: Int32Array;
  cols: Int32Array;
  counts: Float32Array;
  alpha: number;
  cgSteps: number;
  from: number;
  to: number;
}

export function alsSolve(t: AlsSolveTask): void {
  const f = t.f;
  const x = new Float64Array(f);
  const scratch = cgScratch(f);
  for (let row = t.from; row < t.to; row++) {
    const base = row * f;
    for (let a = 0; a < f; a++) x[a] = t.target[base + a] as number;
    solveRow(x, t.gram, t.fixed, f, t.cols, t.counts, t.offsets[row] as number, t.offsets[row + 1] as number, t.alpha, t.cgSteps, 0, scratch);
    t.target.set(x, base);
  }
}
