import { KernelArena, alsKernel, type AlsKernel, type OpenArena } from './wasmKernels.js';
import type { RecommenderModel } from './types.js';

/**
 * Folds a user into an ALS model at scoring time: the model keeps only item factors, the
 * user's vector is solved exactly from their history with the training equations
 * (models/wasm/als.ts), by its Cholesky kernel, then every item is scored at
 * once. The item factors are copied once per scorer into a WebAssembly memory of its own,
 * with YᵀY + λI. Memory: the item factors again, f² + a few f-vectors, one float per item.
 */
export class AlsFoldIn {
  readonly f: number;
  private readonly y: Float32Array;
  private readonly alpha: number;
  private readonly kernel: AlsKernel;
  private readonly arena: OpenArena;
  private readonly slots: { items: number; gram: number; cols: number; counts: number; a: number; b: number; x: number; out: number };
  /** The user's vector after `solve`. */
  private readonly x: Float32Array;
  private readonly cols: Int32Array;
  private readonly counts: Float32Array;
  private readonly predicted: Float32Array;

  constructor(model: RecommenderModel) {
    const f = Number(model.params.factors);
    const y = model.itemFactors;
    const nItems = model.itemIds.length;
    if (!Number.isInteger(f) || f < 1 || !y || y.length !== nItems * f)
      throw new Error(`als model: expected ${nItems} x ${model.params.factors} item factors, got ${y?.length ?? 'none'}`);
    this.f = f;
    this.alpha = Number(model.params.alpha);
    const regularization = Number(model.params.regularization);
    if (!(this.alpha >= 0) || !(regularization > 0))
      throw new Error(`als model: alpha must be >= 0 and regularization > 0, got ${model.params.alpha} and ${model.params.regularization}`);
    const plan = new KernelArena();
    this.slots = {
      items: plan.f32(nItems * f),
      gram: plan.f32(f * f),
      cols: plan.i32(nItems),
      counts: plan.f32(nItems),
      a: plan.f32(f * f),
      b: plan.f32(f),
      x: plan.f32(f),
      out: plan.f32(nItems),
    };
    this.arena = plan.open(`scoring with an ALS model of ${nItems} items at ${f} factors`);
    this.y = this.arena.f32(this.slots.items);
    this.y.set(y);
    this.kernel = alsKernel(this.arena.memory);
    this.kernel.gramRows(this.arena.address(this.slots.items), nItems, f, regularization, this.arena.address(this.slots.gram), 0, f);
    this.kernel.mirror(this.arena.address(this.slots.gram), f);
    this.x = this.arena.f32(this.slots.x);
    this.cols = this.arena.i32(this.slots.cols);
    this.counts = this.arena.f32(this.slots.counts);
    this.predicted = this.arena.f32(this.slots.out);
  }

  /** Solves the user's vector from their distinct heard items[0..n) and listen counts. */
  solve(items: Int32Array, counts: Float32Array, n: number): Float32Array {
    this.cols.set(items.subarray(0, n));
    this.counts.set(counts.subarray(0, n));
    const at = (slot: number) => this.arena.address(slot);
    this.kernel.foldIn(
      at(this.slots.items),
      this.f,
      at(this.slots.gram),
      at(this.slots.cols),
      at(this.slots.counts),
      n,
      this.alpha,
      at(this.slots.a),
      at(this.slots.b),
      at(this.slots.x),
    );
    return this.x;
  }

  /** The solved user's predicted preference for every item (valid until the next call). */
  predictAll(): Float32Array {
    this.kernel.scoreAll(
      this.arena.address(this.slots.items),
      this.predicted.length,
      this.f,
      this.arena.address(this.slots.x),
      this.arena.address(this.slots.out),
    );
    return this.predicted;
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
