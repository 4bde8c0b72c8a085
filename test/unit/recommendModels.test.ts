import { expect } from 'chai';
import { decodeModel, encodeModel } from '../../models/artifact.js';
import { interactionsFromLists, transpose } from '../../models/interactions.js';
import { fitItemKnn } from '../../models/itemKnn.js';
import { fitMostPopular } from '../../models/mostPopular.js';
import { Scorer, topK, type ScoredChunk } from '../../models/score.js';
import { REASONS } from '../../models/types.js';
import { genreCode, inputHash, normalizeGenre } from '../../activities/recommend/inputs.js';

// Hand-checked toy data: 4 users over 5 items (track ids 10, 20, 30, 40, 50).
//   u0: 0 1 2   u1: 0 1   u2: 1 3   u3: 4
const LISTS = [[0, 1, 2], [0, 1], [1, 3], [4]];
const IDS = Float64Array.from([10, 20, 30, 40, 50]);

function listsOf(out: ScoredChunk, u: number) {
  const rows = [];
  for (let r = out.offsets[u] as number; r < (out.offsets[u + 1] as number); r++) {
    rows.push({
      item: out.items[r],
      score: Number((out.scores[r] as number).toFixed(4)),
      reason: REASONS[out.reasons[r] as number],
      because: Array.from(out.because.subarray(r * 3, r * 3 + 3)).filter((b) => b >= 0),
    });
  }
  return rows;
}

describe('recommendation models', () => {
  const m = interactionsFromLists(LISTS, 5);

  it('transposes a user x item matrix', () => {
    const t = transpose(m);
    const usersOf = (i: number) => Array.from(t.items.subarray(t.offsets[i], t.offsets[i + 1]));
    expect([0, 1, 2, 3, 4].map(usersOf)).to.deep.equal([[0, 1], [0, 1, 2], [0], [2], [3]]);
  });

  it('item-kNN keeps the cosine neighbours, best first', () => {
    const model = fitItemKnn(m, IDS, { neighbors: 2 });
    const row = (i: number) => {
      const from = model.neighborOffsets![i] as number;
      const to = model.neighborOffsets![i + 1] as number;
      return Array.from(model.neighbors!.subarray(from, to)).map((j, n) => [j, Number(model.similarities![from + n]!.toFixed(4))]);
    };
    // item 0 (users 0,1) and item 1 (users 0,1,2): 2 / sqrt(2*3) = 0.8165; item 0 and 2: 1 / sqrt(2*1) = 0.7071.
    expect(row(0)).to.deep.equal([
      [1, 0.8165],
      [2, 0.7071],
    ]);
    // item 1: with 0 (0.8165), with 2 and with 3 (1/sqrt(3) = 0.5774 each; the lower index wins the tie).
    expect(row(1)).to.deep.equal([
      [0, 0.8165],
      [2, 0.5774],
    ]);
    expect(row(4)).to.deep.equal([]);
    expect(Array.from(model.popularity)).to.deep.equal([2, 3, 1, 1, 1]);
  });

  it('scores with item-kNN: no listened or dead track, reasons name the listened tracks, padded by popularity', () => {
    const model = fitItemKnn(m, IDS, { neighbors: 4 });
    const live = Uint8Array.from([1, 1, 1, 1, 1]);
    const scorer = new Scorer({ model, live, itemGenre: new Uint8Array(5), k: 3, genreBoost: 3 });
    // A user who heard item 0 only: neighbours 1 (0.8165) and 2 (0.7071), then item 3 by popularity.
    const out = scorer.scoreChunk({ n: 1, histOffsets: Int32Array.from([0, 1]), histItems: Int32Array.from([0]), genre: Uint8Array.from([0]) });
    expect(listsOf(out, 0)).to.deep.equal([
      { item: 1, score: 0.8165, reason: 'similar', because: [0] },
      { item: 2, score: 0.7071, reason: 'similar', because: [0] },
      { item: 3, score: 1, reason: 'popular', because: [] },
    ]);
    // Item 1 tombstoned: never recommended, even by popularity.
    const dead = new Scorer({ model, live: Uint8Array.from([1, 0, 1, 1, 1]), itemGenre: new Uint8Array(5), k: 3, genreBoost: 3 });
    const out2 = dead.scoreChunk({ n: 1, histOffsets: Int32Array.from([0, 1]), histItems: Int32Array.from([0]), genre: Uint8Array.from([0]) });
    expect(listsOf(out2, 0).map((r) => r.item)).to.deep.equal([2, 3, 4]);
    // Two listened tracks both leading to item 2: summed score, both named, the stronger first.
    const out3 = scorer.scoreChunk({ n: 1, histOffsets: Int32Array.from([0, 2]), histItems: Int32Array.from([0, 1]), genre: Uint8Array.from([0]) });
    const two = listsOf(out3, 0).find((r) => r.item === 2);
    expect(two).to.deep.equal({ item: 2, score: 1.2845, reason: 'similar', because: [0, 1] });
    expect(listsOf(out3, 0).map((r) => r.item)).to.not.include.members([0, 1]);
  });

  it('cold start: popularity, the favourite genre boosted', () => {
    const model = fitMostPopular(m, IDS); // popularity 2 3 1 1 1
    // Items 2 and 3 are Rock (code 1): boosted x3 they count 3 listens, and tie with item 1 (3): the lower index first.
    const scorer = new Scorer({ model, live: Uint8Array.from([1, 1, 1, 1, 1]), itemGenre: Uint8Array.from([0, 0, 1, 1, 0]), k: 4, genreBoost: 3 });
    const out = scorer.scoreChunk({ n: 2, histOffsets: Int32Array.from([0, 0, 0]), histItems: new Int32Array(0), genre: Uint8Array.from([1, 0]) });
    expect(Array.from(out.coldStart)).to.deep.equal([1, 1]);
    expect(listsOf(out, 0).map((r) => [r.item, r.score, r.reason])).to.deep.equal([
      [1, 3, 'cold_start_popular'],
      [2, 3, 'cold_start_genre'],
      [3, 3, 'cold_start_genre'],
      [0, 2, 'cold_start_popular'],
    ]);
    // No favourite genre: plain popularity.
    expect(listsOf(out, 1).map((r) => r.item)).to.deep.equal([1, 0, 2, 3]);
  });

  it('MostPopular: most listened tracks not heard yet', () => {
    const scorer = new Scorer({ model: fitMostPopular(m, IDS), live: Uint8Array.from([1, 1, 1, 1, 1]), itemGenre: new Uint8Array(5), k: 2, genreBoost: 3 });
    const out = scorer.scoreChunk({ n: 1, histOffsets: Int32Array.from([0, 1]), histItems: Int32Array.from([1]), genre: Uint8Array.from([0]) });
    expect(listsOf(out, 0)).to.deep.equal([
      { item: 0, score: 2, reason: 'popular', because: [] },
      { item: 2, score: 1, reason: 'popular', because: [] },
    ]);
    expect(out.coldStart[0]).to.equal(0);
  });

  it('a model survives encoding, into shared memory', () => {
    const model = fitItemKnn(m, IDS, { neighbors: 2 });
    const back = decodeModel(encodeModel(model));
    expect(back.family).to.equal('item-knn');
    expect(back.params).to.deep.equal({ neighbors: 2, similarity: 'cosine' });
    expect(Array.from(back.itemIds)).to.deep.equal(Array.from(IDS));
    expect(Array.from(back.neighbors!)).to.deep.equal(Array.from(model.neighbors!));
    expect(back.similarities!.buffer).to.be.instanceOf(SharedArrayBuffer);
    expect(() => decodeModel(Buffer.from('not a model'))).to.throw(/bad magic/);
  });

  it('the same data gives the same model', () => {
    expect(encodeModel(fitItemKnn(m, IDS)).equals(encodeModel(fitItemKnn(m, IDS)))).to.equal(true);
  });

  it('topK picks the best, ties by the lower index', () => {
    const score = Float32Array.from([0.5, 0.9, 0.5, 0.1, 0.9]);
    expect(topK(Int32Array.from([0, 1, 2, 3, 4]), 5, score, 3)).to.deep.equal([1, 4, 0]);
    expect(topK(Int32Array.from([3, 2]), 2, score, 3)).to.deep.equal([2, 3]);
  });

  it('genres match without case or punctuation; input hashes follow the inputs', () => {
    expect(normalizeGenre('Hip Hop')).to.equal(normalizeGenre('hip-hop'));
    expect(genreCode('rock')).to.equal(genreCode('Rock')).and.to.be.greaterThan(0);
    expect(genreCode('r&b')).to.equal(genreCode('R&B'));
    expect(genreCode('Polka')).to.equal(0);
    const h = new Uint32Array(8);
    inputHash([1, 2, 3], 1, h, 0);
    inputHash([1, 2, 3], 1, h, 1);
    inputHash([3, 2, 1], 1, h, 2);
    inputHash([1, 2, 3], 2, h, 3);
    expect([h[0], h[1]]).to.deep.equal([h[2], h[3]]);
    expect([h[0], h[1]]).to.not.deep.equal([h[4], h[5]]);
    expect([h[0], h[1]]).to.not.deep.equal([h[6], h[7]]);
  });
});
