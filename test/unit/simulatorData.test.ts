import { expect } from 'chai';
import { generateDataset, idRange } from '../../simulator/dataset.js';
import { createRandom, sampleDistinct } from '../../simulator/random.js';

describe('simulator random numbers', () => {
  it('repeat for a seed and differ between seeds', () => {
    const a = createRandom('x');
    const b = createRandom('x');
    const c = createRandom('y');
    const seqA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).to.deep.equal(seqA);
    expect(Array.from({ length: 5 }, () => c.next())).not.to.deep.equal(seqA);
  });

  it('draw distinct values inside the range, the whole range when asked', () => {
    const all = sampleDistinct(createRandom('s'), 1000, 1000);
    expect(new Set(all).size).to.equal(1000);
    expect(Math.min(...all)).to.equal(1);
    expect(Math.max(...all)).to.equal(1000);
    const some = sampleDistinct(createRandom('s'), 500, 100_000);
    expect(new Set(some).size).to.equal(500);
    expect(some.every((n) => Number.isInteger(n) && n >= 1 && n <= 100_000)).to.equal(true);
    expect(() => sampleDistinct(createRandom('s'), 11, 10)).to.throw(RangeError);
  });
});

describe('simulator dataset options', () => {
  it('keep ids in 1..100000 as the real service does, and widen the range only past 50,000 records', () => {
    expect(idRange(1000)).to.equal(100_000);
    expect(idRange(50_000)).to.equal(100_000);
    expect(idRange(300_000)).to.equal(600_000);
  });

  it('refuse more listen-history rows than users, and rows without 5 tracks to draw', () => {
    expect(() => generateDataset({ seed: 's', tracks: 10, users: 5, listenHistory: 6 })).to.throw(RangeError, /one row per user/);
    expect(() => generateDataset({ seed: 's', tracks: 4, users: 5, listenHistory: 5 })).to.throw(RangeError, /5 distinct tracks/);
    expect(() => generateDataset({ seed: 's', tracks: -1, users: 5, listenHistory: 0 })).to.throw(RangeError, /tracks/);
  });

  it('keep one endpoint the same when another count changes', () => {
    const a = generateDataset({ seed: 's', tracks: 50, users: 10, listenHistory: 10 });
    const b = generateDataset({ seed: 's', tracks: 50, users: 20, listenHistory: 0 });
    expect(b.records.tracks).to.deep.equal(a.records.tracks);
  });
});
