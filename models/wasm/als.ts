// AssemblyScript, compiled to models/wasm/als.wasm by `npm run build` (scripts/buildWasm.mjs),
// not by tsc. The two hot loops of ALS training in 128-bit SIMD on float32, as `implicit`
// runs them in BLAS: a row's conjugate-gradient solve and the Gram matrix of the fixed side.
// Every argument is a byte address in the memory the module imports (shared by the training
// threads). Rows of f floats need no alignment; f need not be a multiple of 4.
//
// The arithmetic is fixed (partial sums in a fixed order, no fused multiply-add), so a row's
// result does not depend on which thread computes it or how the rows are split.

/** Σ a[k]·b[k] over f floats, in two SIMD partial sums of four lanes each, then the tail. */
@inline
function dot(a: usize, b: usize, f: i32): f32 {
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let k = 0;
  for (; k + 8 <= f; k += 8) {
    const o = <usize>(k << 2);
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
  }
  if (k + 4 <= f) {
    const o = <usize>(k << 2);
    s0 = f32x4.add(s0, f32x4.mul(v128.load(a + o), v128.load(b + o)));
    k += 4;
  }
  s0 = f32x4.add(s0, s1);
  let s: f32 = f32x4.extract_lane(s0, 0) + f32x4.extract_lane(s0, 1) + (f32x4.extract_lane(s0, 2) + f32x4.extract_lane(s0, 3));
  for (; k < f; k++) s += load<f32>(a + (<usize>k << 2)) * load<f32>(b + (<usize>k << 2));
  return s;
}

/** out[k] += t·y[k] over f floats. */
@inline
function axpy(t: f32, y: usize, out: usize, f: i32): void {
  const tv = f32x4.splat(t);
  let k = 0;
  for (; k + 4 <= f; k += 4) {
    const o = <usize>(k << 2);
    v128.store(out + o, f32x4.add(v128.load(out + o), f32x4.mul(tv, v128.load(y + o))));
  }
  for (; k < f; k++) {
    const o = <usize>(k << 2);
    store<f32>(out + o, load<f32>(out + o) + t * load<f32>(y + o));
  }
}

/** out = m·v for the f x f matrix m (row-major). */
@inline
function multiply(m: usize, v: usize, out: usize, f: i32): void {
  const stride = <usize>(f << 2);
  for (let a = 0; a < f; a++) store<f32>(out + (<usize>a << 2), dot(m + <usize>a * stride, v, f));
}

/**
 * Rows [from, to) of implicit-feedback ALS (Hu, Koren, Volinsky 2008). A row is the user
 * (or item) vector x that minimises Σ_i c_i (p_i − x·f_i)² + λ|x|² over every item i
 * (p_i = 1 for a heard item, 0 otherwise; c_i = 1 + α·listens, 1 for an unheard item).
 * Its normal equations are
 *
 *   (FᵀF + λI + Σ_{i heard} (c_i − 1) f_i f_iᵀ) x = Σ_{i heard} c_i f_i
 *
 * solved in place by `steps` of conjugate gradient from the row's current value (Takács et
 * al. 2011; the `cg` solver of `implicit`), never forming the matrix: `gram` holds FᵀF + λI
 * (computed once for all rows), the heard items add their rank-one terms on the fly. Row
 * r's heard items are cols[offsets[r] .. offsets[r+1]) of `fixed` with counts[..]. Stops
 * early once the squared residual is below 1e-20, as `implicit` does. `scratch` holds 3·f
 * floats of this call's own.
 */
export function solveRows(
  target: usize,
  fixed: usize,
  f: i32,
  gram: usize,
  offsets: usize,
  cols: usize,
  counts: usize,
  alpha: f32,
  steps: i32,
  from: i32,
  to: i32,
  scratch: usize,
): void {
  const stride = <usize>(f << 2);
  const r = scratch;
  const p = scratch + stride;
  const ap = p + stride;
  for (let row = from; row < to; row++) {
    const x = target + <usize>row * stride;
    const first = load<i32>(offsets + (<usize>row << 2));
    const last = load<i32>(offsets + (<usize>(row + 1) << 2));
    // r = b − A·x = −gram·x + Σ (c_i − (c_i − 1)·f_i·x) f_i
    multiply(gram, x, r, f);
    for (let k = 0; k < f; k++) store<f32>(r + (<usize>k << 2), -load<f32>(r + (<usize>k << 2)));
    for (let q = first; q < last; q++) {
      const y = fixed + <usize>load<i32>(cols + (<usize>q << 2)) * stride;
      const extra = alpha * load<f32>(counts + (<usize>q << 2));
      axpy(1 + extra - extra * dot(y, x, f), y, r, f);
    }
    let rsOld = dot(r, r, f);
    if (rsOld < 1e-20) continue;
    memory.copy(p, r, stride);
    for (let step = 0; step < steps; step++) {
      // ap = A·p, without forming A.
      multiply(gram, p, ap, f);
      for (let q = first; q < last; q++) {
        const y = fixed + <usize>load<i32>(cols + (<usize>q << 2)) * stride;
        axpy(alpha * load<f32>(counts + (<usize>q << 2)) * dot(y, p, f), y, ap, f);
      }
      const pap = dot(p, ap, f);
      // A is positive definite (λ > 0); a non-positive curvature means rounding has taken over.
      if (!(pap > 0)) break;
      const alphaStep = rsOld / pap;
      axpy(alphaStep, p, x, f);
      axpy(-alphaStep, ap, r, f);
      const rsNew = dot(r, r, f);
      if (rsNew < 1e-20) break;
      const beta = f32x4.splat(rsNew / rsOld);
      let k = 0;
      for (; k + 4 <= f; k += 4) {
        const o = <usize>(k << 2);
        v128.store(p + o, f32x4.add(v128.load(r + o), f32x4.mul(beta, v128.load(p + o))));
      }
      for (; k < f; k++) {
        const o = <usize>(k << 2);
        store<f32>(p + o, load<f32>(r + o) + (rsNew / rsOld) * load<f32>(p + o));
      }
      rsOld = rsNew;
    }
  }
}

/**
 * Rows [from, to) of gram = FᵀF + λI for the nRows x f factors F, upper triangle only (each
 * entry a sum over F's rows in order); `mirror` completes it once every row range is done.
 */
export function gramRows(factors: usize, nRows: i32, f: i32, regularization: f32, gram: usize, from: i32, to: i32): void {
  const stride = <usize>(f << 2);
  memory.fill(gram + <usize>from * stride, 0, <usize>(to - from) * stride);
  for (let i = 0; i < nRows; i++) {
    const y = factors + <usize>i * stride;
    for (let a = from; a < to; a++) {
      const fa = load<f32>(y + (<usize>a << 2));
      if (fa == 0) continue;
      axpy(fa, y + (<usize>a << 2), gram + <usize>a * stride + (<usize>a << 2), f - a);
    }
  }
  for (let a = from; a < to; a++) {
    const at = gram + <usize>a * stride + (<usize>a << 2);
    store<f32>(at, load<f32>(at) + regularization);
  }
}

/** The lower triangle of the f x f gram copied from its upper one. */
export function mirror(gram: usize, f: i32): void {
  const stride = <usize>(f << 2);
  for (let a = 1; a < f; a++) {
    for (let b = 0; b < a; b++) store<f32>(gram + <usize>a * stride + (<usize>b << 2), load<f32>(gram + <usize>b * stride + (<usize>a << 2)));
  }
}

/**
 * One user folded into a fitted model (models/alsFoldIn.ts): x solves
 * (gram + Σ (c_i − 1) y_i y_iᵀ) x = Σ c_i y_i over the n heard items cols[0..n) of `items`
 * with confidence 1 + alpha·counts, exactly, by Cholesky: n·f²/2 for the matrix and f³/6
 * for the factorisation, where conjugate gradient to convergence would take f steps of
 * f² + 2·n·f each. `a` is f x f floats of scratch, `b` f floats.
 */
export function foldIn(items: usize, f: i32, gram: usize, cols: usize, counts: usize, n: i32, alpha: f32, a: usize, b: usize, x: usize): void {
  const stride = <usize>(f << 2);
  memory.copy(a, gram, <usize>f * stride);
  memory.fill(b, 0, stride);
  for (let q = 0; q < n; q++) {
    const y = items + <usize>load<i32>(cols + (<usize>q << 2)) * stride;
    const extra = alpha * load<f32>(counts + (<usize>q << 2));
    axpy(1 + extra, y, b, f);
    if (extra == 0) continue;
    // The lower triangle only: the factorisation reads nothing above the diagonal.
    for (let r = 0; r < f; r++) axpy(extra * load<f32>(y + (<usize>r << 2)), y, a + <usize>r * stride, r + 1);
  }
  // A = L·Lᵀ in place (L in the lower triangle, row by row).
  for (let j = 0; j < f; j++) {
    const rowJ = a + <usize>j * stride;
    const diagonal = load<f32>(rowJ + (<usize>j << 2)) - dot(rowJ, rowJ, j);
    // Positive definite (λ > 0); a pivot lost to rounding is kept positive rather than failing the user.
    const d = Mathf.sqrt(diagonal > 1e-30 ? diagonal : <f32>1e-30);
    store<f32>(rowJ + (<usize>j << 2), d);
    for (let i = j + 1; i < f; i++) {
      const rowI = a + <usize>i * stride;
      store<f32>(rowI + (<usize>j << 2), (load<f32>(rowI + (<usize>j << 2)) - dot(rowI, rowJ, j)) / d);
    }
  }
  // L·z = b, then Lᵀ·x = z (z kept in x).
  for (let i = 0; i < f; i++) {
    const rowI = a + <usize>i * stride;
    store<f32>(x + (<usize>i << 2), (load<f32>(b + (<usize>i << 2)) - dot(rowI, x, i)) / load<f32>(rowI + (<usize>i << 2)));
  }
  for (let i = f - 1; i >= 0; i--) {
    let s = load<f32>(x + (<usize>i << 2));
    for (let k = i + 1; k < f; k++) s -= load<f32>(a + <usize>k * stride + (<usize>i << 2)) * load<f32>(x + (<usize>k << 2));
    store<f32>(x + (<usize>i << 2), s / load<f32>(a + <usize>i * stride + (<usize>i << 2)));
  }
}

/** out[j] = y_j · x for the nItems x f factors y: every item's predicted preference. */
export function scoreAll(items: usize, nItems: i32, f: i32, x: usize, out: usize): void {
  const stride = <usize>(f << 2);
  for (let j = 0; j < nItems; j++) store<f32>(out + (<usize>j << 2), dot(items + <usize>j * stride, x, f));
}
