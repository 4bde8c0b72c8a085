import { expect } from 'chai';
import { syntheticListens } from '../../bench/syntheticListens.js';
import { decodeModel, encodeModel } from '../../models/artifact.js';
import { bm25Weights } from '../../models/bm25.js';
import { countListens } from '../../models/counted.js';
import { EASE_WASM_ITEMS, easeItemsWithin } from '../../models/ease.js';
import { DEFAULT_PARAMS, familyRefusal, fitModel, parseFamilyParams, THREADS_FROM_LISTENS } from '../../models/families.js';
import { interactionsFromLists, type Interactions } from '../../models/interactions.js';
import { Scorer, type ScoredChunk } from '../../models/score.js';
import { seededRandom } from '../../models/seededRandom.js';
import { InlineRunner } from '../../models/training/runner.js';
import type { TrainTask } from '../../models/training/tasks.js';
import { TrainPool } from '../../models/training/trainPool.js';
import { REASONS, type RecommenderModel } from '../../models/types.js';
import type { ModelFamily } from '../../contracts/names.js';

const round = (x: number, digits = 6) => Number(x.toFixed(digits));
const idsFor = (n: number) => Float64Array.from({ length: n }, (_, i) => (i + 1) * 10);
const inline = { seed: 7, threads: 1 };

function neighbourRow(model: RecommenderModel, i: number): [number, number][] {
  const from = model.neighborOffsets![i] as number;
  const to = model.neighborOffsets![i + 1] as number;
  return Array.from(model.neighbors!.subarray(from, to)).map((j, n) => [j, round(model.similarities![from + n] as number)]);
}

/** Synthetic power-law listens (the bench's generator), as CSR. */
function synthetic(users: number, tracks: number, perUser: number, seed = 1): Interactions {
  return {
    nUsers: users,
    nItems: tracks,
    offsets: Int32Array.from({ length: users + 1 }, (_, u) => u * perUser),
    items: syntheticListens(users, tracks, perUser, seed),
  };
}

/** Scores every user of m on a fresh Scorer, as the offline evaluation does. */
function scoreAll(model: RecommenderModel, m: Interactions, live: Uint8Array, k: number, explain = true): ScoredChunk {
  const scorer = new Scorer({ model, live, itemGenre: new Uint8Array(m.nItems), k, genreBoost: 1, explain });
  return scorer.scoreChunk({ n: m.nUsers, histOffsets: m.offsets, histItems: m.items, genre: new Uint8Array(m.nUsers) });
}

/** A plain Gauss-Jordan inverse on an augmented matrix: the reference EASE is checked against. */
function naiveInverse(g: number[][]): number[][] {
  const n = g.length;
  const a = g.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let k = 0; k < n; k++) {
    const pivot = a[k]![k]!;
    a[k] = a[k]!.map((v) => v / pivot);
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const factor = a[i]![k]!;
      a[i] = a[i]!.map((v, j) => v - factor * a[k]![j]!);
    }
  }
  return a.map((row) => row.slice(n));
}

describe('training model families', () => {
  describe('item-kNN with BM25', () => {
    // 4 users over 4 items; u0 heard item 0 twice.
    //   u0: 0 0 1   u1: 0 2   u2: 1   u3: 2 3
    const m = interactionsFromLists([[0, 0, 1], [0, 2], [1], [2, 3]], 4);

    it('weights listens as implicit 0.7.3 BM25Recommender does (items the documents, users the terms)', () => {
      // N = 4 items; users heard 2, 2, 1, 2 items, so idf = ln 4 − ln 3 (u0, u1, u3), ln 4 − ln 2 (u2).
      // Listens per item 3, 2, 2, 1 (average 2): norm = 0.25 + 0.75 · pop / 2 = 1.375, 1, 1, 0.625.
      // w00 = 2 · 2.2 / (1.2 · 1.375 + 2) · idf0 = 0.346795; w10 = 2.2 / (1.65 + 1) · idf1 = 0.238830; w33 = 2.2 / 1.75 · idf3 = 0.361657.
      // The same values as implicit's bm25_weight(counts.T, 1.2, 0.75).T on this matrix.
      const listens = countListens(m);
      const w = bm25Weights(listens, 1.2, 0.75);
      expect(Array.from(listens.byUser.cols)).to.deep.equal([0, 1, 0, 2, 1, 2, 3]);
      expect(Array.from(listens.byUser.counts)).to.deep.equal([2, 1, 1, 1, 1, 1, 1]);
      expect(Array.from(w.byUser, (x) => round(x))).to.deep.equal([0.346795, 0.287682, 0.23883, 0.287682, 0.693147, 0.287682, 0.361657]);
      // The same weights seen from the items: item 0 (u0, u1), item 1 (u0, u2), item 2 (u1, u3), item 3 (u3).
      expect(Array.from(w.byItem, (x) => round(x))).to.deep.equal([0.346795, 0.23883, 0.287682, 0.693147, 0.287682, 0.287682, 0.361657]);
    });

    it('bm25-user swaps the roles: users the documents, items the terms', async () => {
      // N = 4 users; listeners per item 2, 2, 2, 1, so idf = ln 4 − ln 3 (items 0-2), ln 4 − ln 2 (item 3).
      // Listens per user 3, 2, 1, 2 (average 2): norm = 1.375, 1, 0.625, 1. w00 = 2 · 2.2 / (1.2 · 1.375 + 2) · idf0 = 0.346795.
      const listens = countListens(m);
      const w = bm25Weights(listens, 1.2, 0.75, 'users');
      expect(Array.from(w.byUser, (x) => round(x))).to.deep.equal([0.346795, 0.23883, 0.287682, 0.287682, 0.361657, 0.287682, 0.693147]);
      expect(Array.from(w.byItem, (x) => round(x))).to.deep.equal([0.346795, 0.287682, 0.23883, 0.361657, 0.287682, 0.287682, 0.693147]);
      const model = await fitModel('item-knn', m, idsFor(4), { similarity: 'bm25-user', neighbors: 2 }, inline);
      // sim(0,1) = w00 · w01 = 0.082825 (u0); sim(0,2) = w10 · w12 = 0.082761 (u1); sim(2,3) = w32 · w33 = 0.199406 (u3).
      expect(neighbourRow(model, 0)).to.deep.equal([
        [1, 0.082825],
        [2, 0.082761],
      ]);
      expect(neighbourRow(model, 2)).to.deep.equal([
        [3, 0.199406],
        [0, 0.082761],
      ]);
      expect(model.params).to.deep.equal({ neighbors: 2, similarity: 'bm25-user', k1: 1.2, b: 0.75 });
    });

    it("keeps the dot products of the weighted item columns, best first (implicit's similarity matrix off its diagonal)", async () => {
      const model = await fitModel('item-knn', m, idsFor(4), { similarity: 'bm25', neighbors: 2 }, inline);
      // implicit's BM25Recommender(K=3).similarity on this matrix, rounded to 6 places:
      //   [[0.177307 0.099767 0.068707 0], [0.099767 0.563214 0 0], [0.068707 0 0.165522 0.104042], [0 0 0.104042 0.130796]]
      // sim(0,1) = w00 · w01 (u0); sim(0,2) = w10 · w12 (u1); sim(2,3) = w32 · w33 (u3); items 1 and 2 (or 3) share no listener.
      expect(neighbourRow(model, 0)).to.deep.equal([
        [1, 0.099767],
        [2, 0.068707],
      ]);
      expect(neighbourRow(model, 1)).to.deep.equal([[0, 0.099767]]);
      expect(neighbourRow(model, 2)).to.deep.equal([
        [3, 0.104042],
        [0, 0.068707],
      ]);
      expect(neighbourRow(model, 3)).to.deep.equal([[2, 0.104042]]);
      expect(model.params).to.deep.equal({ neighbors: 2, similarity: 'bm25', k1: 1.2, b: 0.75 });
    });

    it('ties go to the lower index; k1 and b change the weights', async () => {
      // Items 1, 2 and 3 each co-occur with item 0 in one user of the same history length.
      const tie = interactionsFromLists([[0, 3], [0, 2], [0, 1], [4], [5], [6]], 7);
      const model = await fitModel('item-knn', tie, idsFor(7), { similarity: 'bm25', neighbors: 2 }, inline);
      expect(neighbourRow(model, 0).map(([j]) => j)).to.deep.equal([1, 2]);
      const other = await fitModel('item-knn', m, idsFor(4), { similarity: 'bm25', neighbors: 2, k1: 3, b: 0 }, inline);
      expect(neighbourRow(other, 0)[0]![1]).to.not.equal(0.099767);
    });
  });

  describe('RP3beta', () => {
    // The same 4 users over 4 items: u0: 0 0 1, u1: 0 2, u2: 1, u3: 2 3.
    const m = interactionsFromLists([[0, 0, 1], [0, 2], [1], [2, 3]], 4);

    it("matches the reference algorithm (Dacrema et al.'s RP3betaRecommender, dense numpy) on a hand-checked case", async () => {
      // sim(0,1) = P(0→u0) · P(u0→1) / listeners_1^0.3 = 1/2 · 1/3 / 2^0.3 = 0.135375 (u0 heard item 0 twice, item 1 once).
      const model = await fitModel('rp3beta', m, idsFor(4), { neighbors: 2, alpha: 1, beta: 0.3 }, inline);
      expect(neighbourRow(model, 0)).to.deep.equal([
        [2, 0.203063],
        [1, 0.135375],
      ]);
      expect(neighbourRow(model, 1)).to.deep.equal([[0, 0.270751]]);
      expect(neighbourRow(model, 2)).to.deep.equal([
        [3, 0.25],
        [0, 0.203063],
      ]);
      expect(neighbourRow(model, 3)).to.deep.equal([[2, 0.406126]]);
      expect(model.params).to.deep.equal({ neighbors: 2, alpha: 1, beta: 0.3 });
      // alpha raises each step's probability to its power.
      const other = await fitModel('rp3beta', m, idsFor(4), { neighbors: 2, alpha: 0.5, beta: 0.5 }, inline);
      expect(neighbourRow(other, 0)).to.deep.equal([
        [2, 0.353553],
        [1, 0.288675],
      ]);
      expect(neighbourRow(other, 2)).to.deep.equal([
        [3, 0.5],
        [0, 0.353553],
      ]);
    });

    it('survives its artifact', async () => {
      const model = await fitModel('rp3beta', m, idsFor(4), { neighbors: 2 }, inline);
      const back = decodeModel(encodeModel(model));
      expect(back.family).to.equal('rp3beta');
      expect(Array.from(back.similarities!)).to.deep.equal(Array.from(model.similarities!));
      expect(back.params).to.deep.equal({ neighbors: 2, alpha: 1, beta: 0.3 });
    });
  });

  describe('EASE', () => {
    it('matches a hand-computed two-item case', async () => {
      // X: users {0,1}, {0}, {1}; λ = 1: G = [[3,1],[1,3]], P = [[3,-1],[-1,3]] / 8, B01 = -P01 / P11 = 1/3.
      const model = await fitModel('ease', interactionsFromLists([[0, 1], [0], [1]], 2), idsFor(2), { lambda: 1 }, inline);
      expect(Array.from(model.weights!, (x) => round(x))).to.deep.equal([0, 0.333333, 0.333333, 0]);
      expect(model.params).to.deep.equal({ lambda: 1, maxItems: 0 });
    });

    it('scores by the summed weights of the heard tracks, pads with popular ones', async () => {
      // Item 2 is never heard with 0 or 1: B02 = B12 = 0, it can only come as a popular track.
      const model = await fitModel('ease', interactionsFromLists([[0, 1], [0], [1], [2]], 3), idsFor(3), { lambda: 1 }, inline);
      const out = new Scorer({ model, live: Uint8Array.from([1, 1, 1]), itemGenre: new Uint8Array(3), k: 3, genreBoost: 1 }).scoreChunk({
        n: 1,
        histOffsets: Int32Array.from([0, 2]),
        histItems: Int32Array.from([0, 0]),
        genre: new Uint8Array(1),
      });
      const rows = Array.from(out.items, (item, r) => [item, round(out.scores[r] as number), REASONS[out.reasons[r] as number], out.because[r * 3]]);
      // Heard twice, counted once: B01 = 1/3.
      expect(rows).to.deep.equal([
        [1, 0.333333, 'similar', 0],
        [2, 1, 'popular', -1],
      ]);
    });

    it('matches a naive inverse across several pivot blocks, listens counted once', async () => {
      // 70 items: two blocks of pivots; repeats in the histories must not count twice (X is binary).
      const n = 70;
      const next = seededRandom(3);
      const lists = Array.from({ length: 200 }, () => Array.from({ length: 6 }, () => Math.floor(n * next() ** 2)));
      const lambda = 5;
      const model = await fitModel('ease', interactionsFromLists(lists, n), idsFor(n), { lambda }, inline);
      const g = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? lambda : 0)));
      for (const list of lists) {
        const distinct = [...new Set(list)];
        for (const i of distinct) for (const j of distinct) g[i]![j]! += 1;
      }
      const p = naiveInverse(g);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const expected = i === j ? 0 : -p[i]![j]! / p[j]![j]!;
          worst = Math.max(worst, Math.abs(expected - (model.weights![i * n + j] as number)));
        }
      }
      expect(worst).to.be.below(1e-6);
    });

    it('over several column tiles (past 1,024 items): G·B equals G off the diagonal, as B = I − G⁻¹·diag(G⁻¹)⁻¹ implies', async () => {
      const n = 1100;
      const next = seededRandom(9);
      const lists = Array.from({ length: 2000 }, () => Array.from({ length: 20 }, () => Math.floor(n * next() ** 1.5)));
      const lambda = 50;
      const model = await fitModel('ease', interactionsFromLists(lists, n), idsFor(n), { lambda }, { seed: 1, threads: 2 });
      const g = new Float64Array(n * n);
      for (const list of lists) {
        const distinct = [...new Set(list)];
        for (const i of distinct) for (const j of distinct) g[i * n + j]! += 1;
      }
      for (let i = 0; i < n; i++) g[i * n + i]! += lambda;
      const b = model.weights as Float32Array;
      let worst = 0;
      for (let t = 0; t < 400; t++) {
        const i = Math.floor(next() * n);
        // Half the columns in the last tile.
        const j = t % 2 === 0 ? 1024 + Math.floor(next() * (n - 1024)) : Math.floor(next() * n);
        if (i === j) continue;
        let gb = 0;
        for (let k = 0; k < n; k++) gb += (g[i * n + k] as number) * (b[k * n + j] as number);
        worst = Math.max(worst, Math.abs(gb - (g[i * n + j] as number)));
      }
      expect(worst).to.be.below(1e-4);
    });

    it('refuses a catalogue past what the training memory budget holds, naming both', async () => {
      // 1 MB holds sqrt(2^20 / 8) = 362 items: 363 do not.
      expect(easeItemsWithin(1)).to.equal(362);
      const m = interactionsFromLists(
        [
          [0, 1],
          [1, 2],
        ],
        363,
      );
      let error: Error | undefined;
      await fitModel('ease', m, idsFor(363), {}, { ...inline, memoryMb: 1 }).catch((err: Error) => (error = err));
      expect(error?.message).to.equal(
        "EASE keeps dense item x item matrices, 8 bytes per pair at its peak: the catalogue's 363 items need 1 MB, more than the training memory budget of 1 MB (MOOVITAMIX_TRAINING_MEMORY_MB) holds, which is 362 items; use item-knn, rp3beta or als",
      );
      expect(familyRefusal('ease', {}, 362, 1)).to.equal(undefined);
      expect(familyRefusal('ease', {}, 363, 1)).to.equal(error?.message);
    });

    it('refuses a catalogue past one WebAssembly memory even when the budget would hold it', () => {
      expect(easeItemsWithin(64 * 1024)).to.equal(EASE_WASM_ITEMS);
      expect(familyRefusal('ease', {}, EASE_WASM_ITEMS, 64 * 1024)).to.equal(undefined);
      expect(familyRefusal('ease', {}, EASE_WASM_ITEMS + 1, 64 * 1024)).to.equal(
        `EASE inverts a dense item x item matrix in one WebAssembly memory, which holds at most 4 GiB: ${EASE_WASM_ITEMS} items; the catalogue has ${EASE_WASM_ITEMS + 1}; use item-knn, rp3beta or als`,
      );
    });

    it('refuses a catalogue above maxItems, naming both', async () => {
      const m = interactionsFromLists(
        [
          [0, 1],
          [2, 3, 4],
        ],
        5,
      );
      let error: Error | undefined;
      await fitModel('ease', m, idsFor(5), { maxItems: 4 }, inline).catch((err: Error) => (error = err));
      expect(error?.message).to.match(/catalogue has 5 items, more than maxItems 4/);
    });
  });

  describe('ALS', () => {
    // Two disjoint tastes: users 0-29 hear 5 of items 0-9, users 30-59 five of items 10-19.
    const next = seededRandom(11);
    const lists = Array.from({ length: 60 }, (_, u) => {
      const base = u < 30 ? 0 : 10;
      const picked = new Set<number>();
      while (picked.size < 5) picked.add(base + Math.floor(next() * 10));
      return [...picked];
    });
    const m = interactionsFromLists(lists, 20);
    // Enough regularization that 4 factors capture the blocks rather than noise inside them.
    const params = { factors: 4, iterations: 10, regularization: 10, alpha: 10 };

    it('recommends within the user’s taste block, naming heard tracks of that block', async () => {
      const model = await fitModel('als', m, idsFor(20), params, inline);
      expect(model.itemFactors!.length).to.equal(20 * 4);
      const out = scoreAll(model, m, new Uint8Array(20).fill(1), 3);
      for (let u = 0; u < m.nUsers; u++) {
        const block = u < 30 ? 0 : 10;
        for (let r = out.offsets[u] as number; r < (out.offsets[u + 1] as number); r++) {
          expect(REASONS[out.reasons[r] as number], `user ${u}`).to.equal('taste');
          expect(out.items[r], `user ${u}`).to.be.within(block, block + 9);
          const because = Array.from(out.because.subarray(r * 3, r * 3 + 3)).filter((b) => b >= 0);
          expect(because.length).to.be.greaterThan(0);
          for (const b of because) expect(lists[u]).to.include(b);
        }
        expect((out.offsets[u + 1] as number) - (out.offsets[u] as number)).to.equal(3);
      }
    });

    it('the same seed gives the same bytes, another seed another model', async () => {
      const a = encodeModel(await fitModel('als', m, idsFor(20), params, inline));
      const b = encodeModel(await fitModel('als', m, idsFor(20), params, inline));
      const c = encodeModel(await fitModel('als', m, idsFor(20), params, { seed: 8, threads: 1 }));
      expect(a.equals(b)).to.equal(true);
      expect(a.equals(c)).to.equal(false);
    });

    it('stores every parameter and the seed', async () => {
      const model = await fitModel('als', m, idsFor(20), { factors: 4 }, inline);
      expect(model.params).to.deep.equal({ factors: 4, iterations: 15, regularization: 0.01, alpha: 1, cgSteps: 3, seed: 7 });
    });
  });

  it('ALS, EASE and RP3beta never recommend a heard or dead track, and pad from popularity when short', async () => {
    const m = synthetic(300, 60, 12);
    const live = new Uint8Array(60).fill(1);
    for (let i = 0; i < 60; i += 7) live[i] = 0;
    for (const family of ['als', 'ease', 'rp3beta'] as const) {
      const model = await fitModel(family, m, idsFor(60), family === 'als' ? { factors: 8, iterations: 4 } : {}, inline);
      const out = scoreAll(model, m, live, 20);
      let personal = 0;
      for (let u = 0; u < m.nUsers; u++) {
        const heard = new Set(m.items.subarray(m.offsets[u], m.offsets[u + 1]));
        const rows = Array.from({ length: (out.offsets[u + 1] as number) - (out.offsets[u] as number) }, (_, n) => (out.offsets[u] as number) + n);
        // 60 items, 7-9 dead, 12 heard: at least 20 remain, the list is full.
        expect(rows.length).to.equal(20);
        expect(new Set(rows.map((r) => out.items[r])).size).to.equal(20);
        for (const r of rows) {
          const item = out.items[r] as number;
          expect(heard.has(item), `${family} user ${u} item ${item}`).to.equal(false);
          expect(live[item], `${family} user ${u} item ${item}`).to.equal(1);
          if (REASONS[out.reasons[r] as number] !== 'popular') personal++;
        }
        // Personal recommendations come first, in descending score.
        const scores = rows.filter((r) => REASONS[out.reasons[r] as number] !== 'popular').map((r) => out.scores[r] as number);
        expect(scores).to.deep.equal([...scores].sort((a, b) => b - a));
      }
      expect(personal, family).to.be.greaterThan(0);
      expect(REASONS[out.reasons[0] as number]).to.equal(family === 'als' ? 'taste' : 'similar');
    }
  });

  it('scoring without explanations ranks the same tracks with the same scores, naming no heard track', async () => {
    const m = synthetic(300, 60, 12);
    const live = new Uint8Array(60).fill(1);
    for (let i = 0; i < 60; i += 7) live[i] = 0;
    for (const [family, params] of [
      ['item-knn', {}],
      ['rp3beta', {}],
      ['als', { factors: 8, iterations: 4 }],
      ['ease', {}],
    ] as const) {
      const model = await fitModel(family, m, idsFor(60), params, inline);
      const explained = scoreAll(model, m, live, 20);
      const bare = scoreAll(model, m, live, 20, false);
      expect(Array.from(bare.items), family).to.deep.equal(Array.from(explained.items));
      expect(Array.from(bare.scores), family).to.deep.equal(Array.from(explained.scores));
      expect(Array.from(bare.reasons), family).to.deep.equal(Array.from(explained.reasons));
      expect(
        explained.because.some((b) => b !== -1),
        family,
      ).to.equal(true);
      expect(
        bare.because.every((b) => b === -1),
        family,
      ).to.equal(true);
    }
  });

  it('one thread and two threads give byte-identical models', async function () {
    this.timeout(60_000);
    const m = synthetic(1500, 400, 20);
    // Large enough to run on the pool rather than inline.
    expect(m.items.length).to.be.at.least(THREADS_FROM_LISTENS);
    const cases: [ModelFamily, Record<string, number | string>][] = [
      ['item-knn', {}],
      ['item-knn', { similarity: 'bm25' }],
      ['rp3beta', {}],
      ['als', { factors: 8, iterations: 3 }],
      ['ease', {}],
    ];
    for (const [family, params] of cases) {
      const one = encodeModel(await fitModel(family, m, idsFor(400), params, { seed: 5, threads: 1 }));
      const two = encodeModel(await fitModel(family, m, idsFor(400), params, { seed: 5, threads: 2 }));
      expect(one.equals(two), `${family} ${JSON.stringify(params)}`).to.equal(true);
    }
  });

  it('a failing training task fails the fit, on a thread as inline', async () => {
    const bogus = { kind: 'nope' } as unknown as TrainTask;
    const pool = new TrainPool(2);
    let error: Error | undefined;
    await pool.runAll([bogus]).catch((err: Error) => (error = err));
    await pool.close();
    expect(error?.message).to.equal('training task nope failed: unknown training task nope');
    let inlineError: Error | undefined;
    await new InlineRunner().runAll([bogus]).catch((err: Error) => (inlineError = err));
    expect(inlineError?.message).to.equal('unknown training task nope');
  });

  it('ALS and EASE models survive encoding, and a malformed one is refused', async () => {
    const m = synthetic(100, 30, 6);
    for (const [family, params] of [
      ['als', { factors: 5, iterations: 2 }],
      ['ease', {}],
    ] as const) {
      const model = await fitModel(family, m, idsFor(30), params, inline);
      const back = decodeModel(encodeModel(model));
      expect(back.family).to.equal(family);
      expect(back.params).to.deep.equal(model.params);
      const array = family === 'als' ? 'itemFactors' : 'weights';
      expect(Array.from(back[array]!)).to.deep.equal(Array.from(model[array]!));
      expect(back[array]!.buffer).to.be.instanceOf(SharedArrayBuffer);
    }
    const als = await fitModel('als', m, idsFor(30), { factors: 5, iterations: 1 }, inline);
    expect(() => decodeModel(encodeModel({ ...als, params: { ...als.params, factors: 4 } }))).to.throw(
      /itemFactors must hold items x factors = 30 x 4 values, got 150/,
    );
    const ease = await fitModel('ease', m, idsFor(30), {}, inline);
    expect(() => decodeModel(encodeModel({ ...ease, weights: ease.weights!.subarray(0, 899) }))).to.throw(/weights must hold items² = 30² values, got 899/);
  });

  describe('parameters', () => {
    it('parses text, fills defaults, keeps k1 and b for bm25 only', () => {
      expect(parseFamilyParams('als', { factors: '32', regularization: '1e-3' })).to.deep.equal({ ...DEFAULT_PARAMS.als, factors: 32, regularization: 0.001 });
      expect(parseFamilyParams('item-knn', {})).to.deep.equal({ neighbors: 50, similarity: 'cosine' });
      expect(parseFamilyParams('item-knn', { similarity: 'bm25', b: '0.5' })).to.deep.equal({ neighbors: 50, similarity: 'bm25', k1: 1.2, b: 0.5 });
      expect(parseFamilyParams('ease', { lambda: '250' })).to.deep.equal({ lambda: 250, maxItems: 0 });
      expect(parseFamilyParams('most-popular', {})).to.deep.equal({});
    });

    it('refuses unknown names, malformed and out-of-range values', () => {
      expect(() => parseFamilyParams('item-knn', { neighbours: '5' })).to.throw(
        'unknown item-knn parameter "neighbours" (known: neighbors, similarity, k1, b)',
      );
      expect(() => parseFamilyParams('most-popular', { k: '1' })).to.throw('most-popular takes no parameters, got "k"');
      expect(() => parseFamilyParams('als', { seed: '1' })).to.throw(/seed is not a als parameter/);
      expect(() => parseFamilyParams('item-knn', { neighbors: '0' })).to.throw('item-knn parameter neighbors must be from 1 to 5000, got 0');
      expect(() => parseFamilyParams('item-knn', { neighbors: '2.5' })).to.throw(/neighbors must be a whole number/);
      expect(() => parseFamilyParams('item-knn', { similarity: 'jaccard' })).to.throw(
        'item-knn parameter similarity must be one of cosine, bm25, bm25-user, got "jaccard"',
      );
      expect(() => parseFamilyParams('item-knn', { similarity: 'bm25', b: '1.5' })).to.throw(/b must be from 0 to 1, got 1.5/);
      expect(() => parseFamilyParams('item-knn', { k1: '2' })).to.throw(
        'item-knn parameter k1 applies to similarity=bm25 or bm25-user only (similarity is cosine)',
      );
      expect(() => parseFamilyParams('als', { regularization: '0' })).to.throw(/regularization must be above 0 to 1000000, got 0/);
      expect(() => parseFamilyParams('als', { factors: 'many' })).to.throw(/factors must be a number from 1 to 1024, got "many"/);
      expect(() => parseFamilyParams('als', { alpha: '' })).to.throw(/alpha must be a number/);
      expect(() => parseFamilyParams('ease', { maxItems: '2000000' })).to.throw(/maxItems must be from 0 to 1000000/);
    });

    it('fitModel refuses bad parameters and options too', async () => {
      const m = interactionsFromLists([[0, 1]], 2);
      let error: Error | undefined;
      await fitModel('als', m, idsFor(2), { factor: 3 }, inline).catch((err: Error) => (error = err));
      expect(error?.message).to.match(/unknown als parameter "factor"/);
      await fitModel('item-knn', m, idsFor(2), {}, { seed: 1, threads: -1 }).catch((err: Error) => (error = err));
      expect(error?.message).to.match(/training threads must be a whole number >= 0/);
    });
  });
});
