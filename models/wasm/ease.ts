// AssemblyScript, compiled to models/wasm/ease.wasm by `npm run build` (models/wasm/build.mjs),
// not by tsc. The inversion of EASE's Gram matrix (models/ease.ts) in 128-bit SIMD on
// float32: the block sweep that is all of its cost (items³/2 multiply-adds). Every argument
// is a byte address in the memory the module imports (shared by the training threads).
// The matrix is n x n, row-major, upper triangle used; rows i ≡ part (mod parts) are the
// calling task's. Each entry is computed by the same arithmetic whichever task owns its row
// (no fused multiply-add, terms in a fixed order): the model does not depend on the threads.

/** blockT[a·n + i] = A[i][k0 + a] (read from the upper triangle), for the task's rows i. */
export function extract(matrix: usize, n: i32, blockT: usize, k0: i32, kb: i32, part: i32, parts: i32): void {
  const rowBytes = <usize>n << 2;
  for (let i = part; i < n; i += parts) {
    for (let a = 0; a < kb; a++) {
      const k = k0 + a;
      const v = i <= k ? load<f32>(matrix + <usize>i * rowBytes + (<usize>k << 2)) : load<f32>(matrix + <usize>k * rowBytes + (<usize>i << 2));
      store<f32>(blockT + <usize>a * rowBytes + (<usize>i << 2), v);
    }
  }
}

/** Columns updated together: a tile of blockT (64 x TILE floats, 256 KB) stays in a core's L2 cache across rows. */
const TILE = 1024;

/**
 * The sweep of pivots K = [k0, k0 + kb) on the task's rows outside K, given `inverse` =
 * A_KK⁻¹ (kb x kb) and blockT (A_iK of every row i, before this sweep):
 *   w_i = A_iK·A_KK⁻¹,  A_ij −= w_i·A_Kj for j ≥ i outside K,  A_iK ← w_i.
 * First every row's w_i (into `w`, kb floats per row of the matrix, this task's rows only),
 * then the updates a tile of columns at a time, so that blockT's columns are read from
 * cache rather than memory (past a few thousand items blockT outgrows the cache).
 * `scratch` is kb floats of the task's own.
 */
export function sweep(matrix: usize, n: i32, blockT: usize, inverse: usize, k0: i32, kb: i32, part: i32, parts: i32, scratch: usize, w: usize): void {
  const rowBytes = <usize>n << 2;
  const k1 = k0 + kb;
  const col = scratch;
  const wBytes = <usize>(kb << 2);
  for (let i = part; i < n; i += parts) {
    if (i >= k0 && i < k1) continue;
    for (let c = 0; c < kb; c++) store<f32>(col + (<usize>c << 2), load<f32>(blockT + <usize>c * rowBytes + (<usize>i << 2)));
    const wi = w + <usize>i * wBytes;
    for (let a = 0; a < kb; a++) {
      const inv = inverse + <usize>(a * kb) * 4;
      let s: f32 = 0;
      for (let c = 0; c < kb; c++) s += load<f32>(inv + (<usize>c << 2)) * load<f32>(col + (<usize>c << 2));
      store<f32>(wi + (<usize>a << 2), s);
    }
  }
  for (let t0 = 0; t0 < n; t0 += TILE) {
    const t1 = min(n, t0 + TILE);
    for (let i = part; i < t1; i += parts) {
      if (i >= k0 && i < k1) continue;
      const row = matrix + <usize>i * rowBytes;
      const wi = w + <usize>i * wBytes;
      if (i < k0) {
        subtract(row, max(i, t0), min(k0, t1), wi, kb, blockT, rowBytes);
        subtract(row, max(k1, t0), t1, wi, kb, blockT, rowBytes);
      } else subtract(row, max(i, t0), t1, wi, kb, blockT, rowBytes);
    }
  }
  for (let i = part; i < n; i += parts) {
    if (i >= k0 && i < k1) continue;
    const wi = w + <usize>i * wBytes;
    if (i < k0) for (let a = 0; a < kb; a++) store<f32>(matrix + <usize>i * rowBytes + (<usize>(k0 + a) << 2), load<f32>(wi + (<usize>a << 2)));
    else for (let a = 0; a < kb; a++) store<f32>(matrix + <usize>(k0 + a) * rowBytes + (<usize>i << 2), load<f32>(wi + (<usize>a << 2)));
  }
}

/** row[j] −= Σ_a w[a]·blockT[a][j] for j in [from, to): the inner loop of the whole fit. */
@inline
function subtract(row: usize, from: i32, to: i32, w: usize, kb: i32, blockT: usize, rowBytes: usize): void {
  if (from >= to) return;
  let j = from;
  // Sixteen columns at a time: each w[a] is loaded once for four vectors.
  for (; j + 16 <= to; j += 16) {
    const at = row + (<usize>j << 2);
    let acc0 = v128.load(at);
    let acc1 = v128.load(at, 16);
    let acc2 = v128.load(at, 32);
    let acc3 = v128.load(at, 48);
    let b = blockT + (<usize>j << 2);
    for (let a = 0; a < kb; a++) {
      const wa = v128.load32_splat(w + (<usize>a << 2));
      acc0 = f32x4.sub(acc0, f32x4.mul(wa, v128.load(b)));
      acc1 = f32x4.sub(acc1, f32x4.mul(wa, v128.load(b, 16)));
      acc2 = f32x4.sub(acc2, f32x4.mul(wa, v128.load(b, 32)));
      acc3 = f32x4.sub(acc3, f32x4.mul(wa, v128.load(b, 48)));
      b += rowBytes;
    }
    v128.store(at, acc0);
    v128.store(at, acc1, 16);
    v128.store(at, acc2, 32);
    v128.store(at, acc3, 48);
  }
  for (; j + 4 <= to; j += 4) {
    const at = row + (<usize>j << 2);
    let acc = v128.load(at);
    let b = blockT + (<usize>j << 2);
    for (let a = 0; a < kb; a++) {
      acc = f32x4.sub(acc, f32x4.mul(v128.load32_splat(w + (<usize>a << 2)), v128.load(b)));
      b += rowBytes;
    }
    v128.store(at, acc);
  }
  // The same arithmetic, one lane at a time.
  for (; j < to; j++) {
    const at = row + (<usize>j << 2);
    let s = load<f32>(at);
    let b = blockT + (<usize>j << 2);
    for (let a = 0; a < kb; a++) {
      s -= load<f32>(w + (<usize>a << 2)) * load<f32>(b);
      b += rowBytes;
    }
    store<f32>(at, s);
  }
}

/**
 * The swept matrix (−G⁻¹ in the upper triangle) into EASE's weights in place, the whole
 * matrix: B_ij = −P_ij / P_jj = −A_ij / A_jj, B_ii = 0, with `diagonal` = A's diagonal read
 * before any task starts. A task writes its rows' upper part and the mirrored entries
 * below the diagonal, which no task reads.
 */
export function weights(matrix: usize, n: i32, diagonal: usize, part: i32, parts: i32): void {
  const rowBytes = <usize>n << 2;
  for (let i = part; i < n; i += parts) {
    const row = matrix + <usize>i * rowBytes;
    const di = load<f32>(diagonal + (<usize>i << 2));
    for (let j = i + 1; j < n; j++) {
      const u = load<f32>(row + (<usize>j << 2));
      store<f32>(row + (<usize>j << 2), -u / load<f32>(diagonal + (<usize>j << 2)));
      store<f32>(matrix + <usize>j * rowBytes + (<usize>i << 2), -u / di);
    }
    store<f32>(row + (<usize>i << 2), 0);
  }
}
