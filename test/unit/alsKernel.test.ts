import { expect } from 'chai';
import { KernelArena, alsKernel } from '../../models/wasmKernels.js';
import { AlsFoldIn } from '../../models/alsFoldIn.js';
import { seededRandom } from '../../models/seededRandom.js';
import type { RecommenderModel } from '../../models/types.js';

// The WebAssembly kernels against the same equations solved directly in float64 (Gaussian
// elimination on the formed matrix), at sizes that exercise the SIMD body and the tail
// (f = 7 and 13: not multiples of 4 or 8).
describe('ALS kernels (WebAssembly)', () => {
  /** (gram + Σ (c−1) y yᵀ) x = Σ c y, formed and solved in float64. */
  function reference(y: Float32Array, nItems: number, f: number, regularization: number, heard: number[], counts: number[], alpha: number): Float64Array {
    const a = new Float64Array(f * f);
    for (let i = 0; i < nItems; i++)
      for (let r = 0; r < f; r++) for (let c = 0; c < f; c++) a[r * f + c]! += (y[i * f + r] as number) * (y[i * f + c] as number);
    for (let r = 0; r < f; r++) a[r * f + r]! += regularization;
    const b = new Float64Array(f);
    heard.forEach((item, q) => {
      const conf = 1 + alpha * (counts[q] as number);
      for (let r = 0; r < f; r++) {
        b[r]! += conf * (y[item * f + r] as number);
        for (let c = 0; c < f; c++) a[r * f + c]! += (conf - 1) * (y[item * f + r] as number) * (y[item * f + c] as number);
      }
    });
    for (let col = 0; col < f; col++) {
      for (let row = col + 1; row < f; row++) {
        const t = (a[row * f + col] as number) / (a[col * f + col] as number);
        for (let c = col; c < f; c++) a[row * f + c]! -= t * (a[col * f + c] as number);
        b[row]! -= t * (b[col] as number);
      }
    }
    const x = new Float64Array(f);
    for (let row = f - 1; row >= 0; row--) {
      let s = b[row] as number;
      for (let c = row + 1; c < f; c++) s -= (a[row * f + c] as number) * (x[c] as number);
      x[row] = s / (a[row * f + row] as number);
    }
    return x;
  }

  function factors(n: number, f: number, seed: number): Float32Array {
    const next = seededRandom(seed);
    return Float32Array.from({ length: n * f }, () => next() - 0.3);
  }

  const closeTo = (actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string) => {
    expect(actual.length, what).to.equal(expected.length);
    for (let k = 0; k < expected.length; k++) expect(actual[k], `${what}[${k}]`).to.be.closeTo(expected[k] as number, tolerance);
  };

  for (const f of [7, 13, 16]) {
    it(`f = ${f}: the Gram matrix, a conjugate-gradient row solved to convergence and a fold-in equal the float64 solution`, () => {
      const nItems = 40;
      const y = factors(nItems, f, f);
      const heard = [3, 17, 18, 31, 39];
      const counts = [1, 2, 1, 5, 1];
      const alpha = 2;
      const regularization = 0.5;
      const expected = reference(y, nItems, f, regularization, heard, counts, alpha);

      const plan = new KernelArena();
      const s = {
        y: plan.f32(nItems * f),
        gram: plan.f32(f * f),
        x: plan.f32(f),
        offsets: plan.i32(2),
        cols: plan.i32(heard.length),
        counts: plan.f32(heard.length),
        scratch: plan.f32(3 * f),
      };
      const arena = plan.open('the test');
      arena.f32(s.y).set(y);
      arena.i32(s.offsets).set([0, heard.length]);
      arena.i32(s.cols).set(heard);
      arena.f32(s.counts).set(counts);
      const kernel = alsKernel(arena.memory);
      const at = (slot: number) => arena.address(slot);

      // The Gram matrix in two row ranges, as two threads would split it.
      kernel.gramRows(at(s.y), nItems, f, regularization, at(s.gram), 0, 3);
      kernel.gramRows(at(s.y), nItems, f, regularization, at(s.gram), 3, f);
      kernel.mirror(at(s.gram), f);
      const gram = Array.from({ length: f * f }, (_, k) => {
        const [r, c] = [Math.floor(k / f), k % f];
        let sum = r === c ? regularization : 0;
        for (let i = 0; i < nItems; i++) sum += (y[i * f + r] as number) * (y[i * f + c] as number);
        return sum;
      });
      closeTo(arena.f32(s.gram), gram, 1e-4, 'gram');

      // Conjugate gradient is exact after f steps (up to rounding); from zero.
      kernel.solveRows(at(s.x), at(s.y), f, at(s.gram), at(s.offsets), at(s.cols), at(s.counts), alpha, 2 * f, 0, 1, at(s.scratch));
      closeTo(arena.f32(s.x), expected, 1e-3, 'conjugate gradient');

      const model = {
        family: 'als',
        params: { factors: f, alpha, regularization },
        itemIds: Float64Array.from({ length: nItems }, (_, i) => i + 1),
        popularity: new Float64Array(nItems),
        itemFactors: y,
      } as unknown as RecommenderModel;
      const foldIn = new AlsFoldIn(model);
      // Longer arrays than n: only the first n count.
      closeTo(foldIn.solve(Int32Array.from([...heard, 0, 1]), Float32Array.from([...counts, 9, 9]), heard.length), expected, 1e-3, 'fold-in');
      const predicted = foldIn.predictAll();
      for (let j = 0; j < nItems; j++) {
        let dot = 0;
        for (let k = 0; k < f; k++) dot += (y[j * f + k] as number) * (expected[k] as number);
        expect(predicted[j], `item ${j}`).to.be.closeTo(dot, 1e-3);
      }
    });
  }

  it('refuses a fit beyond one WebAssembly memory with what it would need', () => {
    const plan = new KernelArena();
    plan.f32(2 ** 30);
    plan.f32(2 ** 30);
    expect(() => plan.open('ALS on the moon')).to.throw(
      'ALS on the moon needs 8.0 GiB of factors and listens in one WebAssembly memory, which holds at most 4 GiB',
    );
  });
});
