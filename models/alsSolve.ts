/** Scratch vectors of one conjugate-gradient solve, reused from row to row. */
export interface CgScratch {
  r: Float64Array;
  p: Float64Array;
  ap: Float64Array;
}

export function cgScratch(factors: number): CgScratch {
  return { r: new Float64Array(factors), p: new Float64Array(factors), ap: new Float64Array(factors) };
}

/** Residuals below this (squared norm) count as solved, as in `implicit`. */
const SOLVED = 1e-20;

/**
 * One row of implicit-feedback ALS (Hu, Koren, Volinsky 2008): the user (or item) vector x
 * that minimises Σ_i c_i (p_i − x·f_i)² + λ|x|² over every item i (p_i = 1 for a heard item,
 * 0 otherwise; c_i = 1 + α·listens, 1 for an unheard item). Its normal equations are
 *
 *   (FᵀF + λI + Σ_{i heard} (c_i − 1) f_i f_iᵀ) x = Σ_{i heard} c_i f_i
 *
 * solved by `steps` of conjugate gradient from the current x (Takács et al. 2011; the
 * `cg` solver of `implicit`), never forming the matrix: `gram` = FᵀF + λI (f x f, computed
 * once for all rows), the heard items add their rank-one terms on the fly. The row's heard
 * items are cols[from..to) with counts[from..to). Stops early once the squared residual is
 * below 1e-20 or below `relative` times its starting value. x is overwritten.
 */
export function solveRow(
  x: Float64Array,
  gram: Float64Array,
  factors: Float32Array,
  f: number,
  cols: Int32Array,
  counts: Float32Array,
  from: number,
  to: number,
  alpha: number,
  steps: number,
  relative: number,
  s: CgScratch,
): void {
  const { r, p, ap } = s;
  // r = b − A·x = −gram·x + Σ (c_i − (c_i − 1)·f_i·x) f_i
  multiply(gram, x, r, f);
  for (let a = 0; a < f; a++) r[a] = -(r[a] as number);
  for (let q = from; q < to; q++) {
    const base = (cols[q] as number) * f;
    const extra = alpha * (counts[q] as number);
    const t = 1 + extra - extra * dot(factors, base, x, f);
    axpy(t, factors, base, r, f);
  }
  let rsOld = 0;
  for (let a = 0; a < f; a++) {
    const v = r[a] as number;
    p[a] = v;
    rsOld += v * v;
  }
  if (rsOld < SOLVED) return;
  const stop = Math.max(SOLVED, relative * rsOld);
  for (let step = 0; step < steps; step++) {
    // ap = A·p, without forming A.
    multiply(gram, p, ap, f);
    for (let q = from; q < to; q++) {
      const base = (cols[q] as number) * f;
      const t = alpha * (counts[q] as number) * dot(factors, base, p, f);
      axpy(t, factors, base, ap, f);
    }
    let pap = 0;
    for (let a = 0; a < f; a++) pap += (p[a] as number) * (ap[a] as number);
    // A is positive definite (λ > 0); a non-positive curvature means rounding has taken over.
    if (!(pap > 0)) return;
    const step_ = rsOld / pap;
    let rsNew = 0;
    for (let a = 0; a < f; a++) {
      x[a]! += step_ * (p[a] as number);
      const v = (r[a] as number) - step_ * (ap[a] as number);
      r[a] = v;
      rsNew += v * v;
    }
    if (rsNew < stop) return;
    const beta = rsNew / rsOld;
    for (let a = 0; a < f; a++) p[a] = (r[a] as number) + beta * (p[a] as number);
    rsOld = rsNew;
  }
}

/** out = m·v for the f x f matrix m. */
function multiply(m: Float64Array, v: Float64Array, out: Float64Array, f: number): void {
  for (let a = 0; a < f; a++) out[a] = dot64(m, a * f, v, f);
}

/*
 * Dot products with four partial sums: the additions need not wait for each other, which
 * is most of the speed of these loops. The grouping is fixed, so results are reproducible.
 */

/** out += t · y[base .. base+f) */
function axpy(t: number, y: Float32Array, base: number, out: Float64Array, f: number): void {
  let a = 0;
  for (; a + 3 < f; a += 4) {
    out[a]! += t * (y[base + a] as number);
    out[a + 1]! += t * (y[base + a + 1] as number);
    out[a + 2]! += t * (y[base + a + 2] as number);
    out[a + 3]! += t * (y[base + a + 3] as number);
  }
  for (; a < f; a++) out[a]! += t * (y[base + a] as number);
}

/** y[base .. base+f) · v */
export function dot(y: Float32Array, base: number, v: Float64Array, f: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let a = 0;
  for (; a + 3 < f; a += 4) {
    s0 += (y[base + a] as number) * (v[a] as number);
    s1 += (y[base + a + 1] as number) * (v[a + 1] as number);
    s2 += (y[base + a + 2] as number) * (v[a + 2] as number);
    s3 += (y[base + a + 3] as number) * (v[a + 3] as number);
  }
  for (; a < f; a++) s0 += (y[base + a] as number) * (v[a] as number);
  return s0 + s1 + (s2 + s3);
}

// `dot` for Float64 rows: a copy, not a union type, so that each stays monomorphic in V8's hot loops.
function dot64(m: Float64Array, base: number, v: Float64Array, f: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let a = 0;
  for (; a + 3 < f; a += 4) {
    s0 += (m[base + a] as number) * (v[a] as number);
    s1 += (m[base + a + 1] as number) * (v[a + 1] as number);
    s2 += (m[base + a + 2] as number) * (v[a + 2] as number);
    s3 += (m[base + a + 3] as number) * (v[a + 3] as number);
  }
  for (; a < f; a++) s0 += (m[base + a] as number) * (v[a] as number);
  return s0 + s1 + (s2 + s3);
}

/** gram = FᵀF + λI restricted to rows [from, to) of the f x f result (each a sum over F's rows in order). */
export function gramRows(factors: Float32Array, nRows: number, f: number, regularization: number, gram: Float64Array, from: number, to: number): void {
  const acc = new Float64Array((to - from) * f);
  for (let i = 0; i < nRows; i++) {
    const base = i * f;
    for (let a = from; a < to; a++) {
      const fa = factors[base + a] as number;
      if (fa === 0) continue;
      const row = (a - from) * f;
      for (let b = 0; b < f; b++) acc[row + b]! += fa * (factors[base + b] as number);
    }
  }
  for (let a = from; a < to; a++) acc[(a - from) * f + a]! += regularization;
  gram.set(acc, from * f);
}
