import { KernelArena, alsKernel } from './wasmKernels.js';
import { countListens, type CountedMatrix } from './counted.js';
import { itemPopularity, type Interactions } from './interactions.js';
import { seededRandom } from './seededRandom.js';
import { sharedFloat32 } from './training/shared.js';
import { splitRange } from './training/split.js';
import type { RecommenderModel } from './types.js';
import type { TaskRunner } from './training/taskRunner.js';

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
 * (models/wasm/als.ts), in float32 as `implicit` computes it, by the SIMD kernels of
 * wasmKernels.ts. Factors start from a PRNG seeded with `seed`; each half-iteration first
 * computes the Gram matrix of the fixed side (split by its rows of f x f), then solves the
 * other side's rows warm-started from their current values (split by rows). Every row is
 * computed the same way whichever thread does it: the model does not depend on the thread
 * count. Only the item factors are kept: scoring folds a user in from the history
 * (models/score.ts).
 */
export async function fitAlsOn(
  runner: TaskRunner,
  m: Interactions,
  itemIds: Float64Array,
  params: AlsParams,
  seed: number,
  onProgress?: (done: number) => void,
): Promise<RecommenderModel> {
  const f = params.factors;
  const { byUser, byItem } = countListens(m);
  const parts = runner.parallelism === 1 ? 1 : runner.parallelism * 4;
  // Everything the kernels touch lives in one shared WebAssembly memory.
  const plan = new KernelArena();
  const slots = {
    users: plan.f32(m.nUsers * f),
    items: plan.f32(m.nItems * f),
    gram: plan.f32(f * f),
    scratch: plan.f32(parts * 3 * f),
    byUser: { offsets: plan.i32(byUser.offsets.length), cols: plan.i32(byUser.cols.length), counts: plan.f32(byUser.counts.length) },
    byItem: { offsets: plan.i32(byItem.offsets.length), cols: plan.i32(byItem.cols.length), counts: plan.f32(byItem.counts.length) },
  };
  const arena = plan.open(`ALS on ${m.nUsers} users and ${m.nItems} items at ${f} factors`);
  for (const [side, matrix] of [
    [slots.byUser, byUser],
    [slots.byItem, byItem],
  ] as const) {
    arena.i32(side.offsets).set(matrix.offsets);
    arena.i32(side.cols).set(matrix.cols);
    arena.f32(side.counts).set(matrix.counts);
  }
  const userFactors = arena.f32(slots.users);
  const itemFactors = arena.f32(slots.items);
  const next = seededRandom(seed);
  for (let n = 0; n < userFactors.length; n++) userFactors[n] = next() * INITIAL_SCALE;
  for (let n = 0; n < itemFactors.length; n++) itemFactors[n] = next() * INITIAL_SCALE;
  const { memory } = arena;
  const kernel = alsKernel(memory);
  const gram = arena.address(slots.gram);
  const half = async (target: number, fixed: number, fixedRows: number, side: typeof slots.byUser, rows: CountedMatrix) => {
    // Row a of the upper triangle holds f − a entries.
    await runner.runAll(
      splitRange(f, runner.parallelism, (a) => f - a).map(([from, to]) => ({
        kind: 'alsGram',
        memory,
        factors: fixed,
        nRows: fixedRows,
        f,
        regularization: params.regularization,
        gram,
        from,
        to,
      })),
    );
    kernel.mirror(gram, f);
    const cost = (r: number) => f + 2 * ((rows.offsets[r + 1] as number) - (rows.offsets[r] as number));
    await runner.runAll(
      splitRange(rows.nRows, parts, cost).map(([from, to], part) => ({
        kind: 'alsSolve',
        memory,
        target,
        fixed,
        f,
        gram,
        offsets: arena.address(side.offsets),
        cols: arena.address(side.cols),
        counts: arena.address(side.counts),
        alpha: params.alpha,
        cgSteps: params.cgSteps,
        from,
        to,
        scratch: arena.address(slots.scratch) + part * 3 * f * 4,
      })),
    );
  };
  const users = arena.address(slots.users);
  const items = arena.address(slots.items);
  for (let it = 0; it < params.iterations; it++) {
    await half(users, items, m.nItems, slots.byUser, byUser);
    await half(items, users, m.nUsers, slots.byItem, byItem);
    onProgress?.((it + 1) / params.iterations);
  }
  // A copy of its own: the model must not keep the whole training memory alive.
  const kept = sharedFloat32(itemFactors.length);
  kept.set(itemFactors);
  return {
    family: 'als',
    params: { factors: f, iterations: params.iterations, regularization: params.regularization, alpha: params.alpha, cgSteps: params.cgSteps, seed },
    itemIds,
    popularity: itemPopularity(m),
    itemFactors: kept,
  };
}

/** Rows [from, to) of the fixed side's Gram matrix (byte addresses in `memory`). */
export interface AlsGramTask {
  kind: 'alsGram';
  memory: WebAssembly.Memory;
  factors: number;
  nRows: number;
  f: number;
  regularization: number;
  gram: number;
  from: number;
  to: number;
}

export function alsGram(t: AlsGramTask): void {
  alsKernel(t.memory).gramRows(t.factors, t.nRows, t.f, t.regularization, t.gram, t.from, t.to);
}

/** Solves rows [from, to) of `target` against the fixed side (byte addresses in `memory`; `scratch` is 3·f floats of the task's own). */
export interface AlsSolveTask {
  kind: 'alsSolve';
  memory: WebAssembly.Memory;
  target: number;
  fixed: number;
  f: number;
  gram: number;
  offsets: number;
  cols: number;
  counts: number;
  alpha: number;
  cgSteps: number;
  from: number;
  to: number;
  scratch: number;
}

export function alsSolve(t: AlsSolveTask): void {
  alsKernel(t.memory).solveRows(t.target, t.fixed, t.f, t.gram, t.offsets, t.cols, t.counts, t.alpha, t.cgSteps, t.from, t.to, t.scratch);
}
