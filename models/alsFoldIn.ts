import { cgScratch, dot, gramRows, solveRow, type CgScratch } from './alsSolve.js';
import type { RecommenderModel } from './types.js';

/**
 * Folds a user into an ALS model at scoring time: the model keeps only item factors, the
 * user's vector is solved from their history with the training equations (alsSolve.ts),
 * from zero, until the residual has shrunk FOLD_IN_RESIDUAL times (or `factors` steps,
 * where conjugate gradient is exact up to rounding). YᵀY + λI is computed once per scorer.
 * Memory: f² + a few f-vectors.
 */
export class AlsFoldIn {
  readonly f: number;
  /** The user's vector after `solve`. */
  readonly x: Float64Array;
  private readonly y: Float32Array;
  private readonly gram: Float64Array;
  private readonly alpha: number;
  private readonly scratch: CgScratch;

  constructor(model: RecommenderModel) {
    const f = Number(model.params.factors);
    const y = model.itemFactors;
    const nItems = model.itemIds.length;
    if (!Number.isInteger(f) || f < 1 || !y || y.length !== nItems * f) throw new Error(`als model: expected ${nItems} x ${model.params.factors} item factors, got ${y?.length ?? 'none'}`);
    this.f = f;
    this.y = y;
    this.alpha = Number(model.params.alpha);
    const regularization = Number(model.params.regularization);
    if (!(this.alpha >= 0) || !(regularization > 0)) throw new Error(`als model: alpha must be >= 0 and regularization > 0, got ${model.params.alpha} and ${model.params.regularization}`);
    this.gram = new Float64Array(f * f);
    gramRows(y, nItems, f, regularization, this.gram, 0, f);
    this.x = new Float64Array(f);
    this.scratch = cgScratch(f);
  }

  /** Solves the user's vector from their distinct heard items[0..n) and listen counts. */
  solve(items: Int32Array, counts: Float32Array, n: number): Float64Array {
    this.x.fill(0);
    solveRow(this.x, this.gram, this.y, this.f, items, counts, 0, n, this.alpha, this.f, FOLD_IN_RESIDUAL, this.scratch);
    return this.x;
  }

  /** The solved user's predicted preference for item j. */
  predict(j: number): number {
    return dot(this.y, j * this.f, this.x, this.f);
  }

  /** How close two items are in taste: the dot product of their factors. */
  affinity(i: number, j: number): number {
    const bi = i * this.f;
    const bj = j * this.f;
    let sum = 0;
    for (let a = 0; a < this.f; a++) sum += (this.y[bi + a] as number) * (this.y[bj + a] as number);
    return sum;
  }
}

/** Solved once the squared residual is this fraction of where it started. */
const FOLD_IN_RESIDUAL = 1e-10;
