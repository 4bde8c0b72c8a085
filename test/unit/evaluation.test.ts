import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticListens } from '../../bench/syntheticListens.js';
import { interactionsFromLists, type Interactions } from '../../models/interactions.js';
import { fitMostPopular } from '../../models/mostPopular.js';
import { CsvError, parseInteractionsCsv } from '../../client/evaluation/csv.js';
import { evaluateModel } from '../../models/evaluation/evaluate.js';
import { METRIC_KEYS, averagePrecisionAt, computeMetrics, hitRateAt, ndcgAt, recallAt } from '../../models/evaluation/metrics.js';
import { describeSplit, leaveLastOut, temporalSplit, type Split } from '../../models/evaluation/split.js';
import { readSplitFile, writeSplitFile } from '../../client/evaluation/splitFile.js';
import { evaluateFamilies } from '../../client/evaluation/evaluateFamilies.js';
import type { ModelFamily } from '../../contracts/names.js';

const close = (x: number) => Number(x.toFixed(6));
const rows = (m: Interactions) => Array.from({ length: m.nUsers }, (_, u) => Array.from(m.items.subarray(m.offsets[u], m.offsets[u + 1])));
const holdouts = (s: Split) => Array.from(s.testUsers, (_, t) => Array.from(s.holdoutItems.subarray(s.holdoutOffsets[t], s.holdoutOffsets[t + 1])));

describe('offline evaluation', () => {
  describe('metrics', () => {
    it('one user: a single relevant item at rank 2, at rank 12', () => {
      const rank2 = [0, 1, 0];
      expect(hitRateAt(rank2, 10)).to.equal(1);
      expect(recallAt(rank2, 1, 10)).to.equal(1);
      expect(ndcgAt(rank2, 1, 10)).to.equal(1 / Math.log2(3));
      expect(averagePrecisionAt(rank2, 1, 10)).to.equal(0.5);
      const rank12 = Array.from({ length: 20 }, (_, r) => (r === 11 ? 1 : 0));
      expect([hitRateAt(rank12, 10), recallAt(rank12, 1, 10), ndcgAt(rank12, 1, 10), averagePrecisionAt(rank12, 1, 10)]).to.deep.equal([0, 0, 0, 0]);
      expect(hitRateAt(rank12, 20)).to.equal(1);
      expect(ndcgAt(rank12, 1, 20)).to.equal(1 / Math.log2(13));
      expect(averagePrecisionAt(rank12, 1, 20)).to.equal(1 / 12);
    });

    it('several relevant items: ideal DCG and the normalisations use min(K, |holdout|)', () => {
      // Hits at ranks 1 and 3 of 2 relevant: DCG 1 + 1/2, ideal 1 + 1/log2(3).
      expect(close(ndcgAt([1, 0, 1], 2, 10))).to.equal(close(1.5 / (1 + 1 / Math.log2(3))));
      // AP: (1/1 + 2/3) / 2.
      expect(close(averagePrecisionAt([1, 0, 1], 2, 10))).to.equal(close(5 / 6));
      expect(recallAt([1, 0, 1], 4, 10)).to.equal(0.5);
      // 30 relevant, the first 10 ranks all hits: a perfect top 10.
      const allHits = new Array<number>(10).fill(1);
      expect([recallAt(allHits, 30, 10), ndcgAt(allHits, 30, 10), averagePrecisionAt(allHits, 30, 10)]).to.deep.equal([1, 1, 1]);
    });

    it('averages over users; coverage and mean popularity over the recommended slots', () => {
      // u0 finds item 1 at rank 2; u1 finds 3 (rank 1) and 0 (rank 3) of {0, 3}; u2 misses item 5.
      const lists = { offsets: Int32Array.from([0, 3, 6, 9]), items: Int32Array.from([5, 1, 2, 3, 4, 0, 2, 3, 4]) };
      const holdout = { offsets: Int32Array.from([0, 1, 3, 4]), items: Int32Array.from([1, 0, 3, 5]) };
      const popularity = Float32Array.from([1, 2, 3, 4, 5, 6, 0, 0]);
      const m = computeMetrics(lists, holdout, popularity, 8);
      expect(Object.keys(m)).to.deep.equal([...METRIC_KEYS, 'users']);
      expect(m.users).to.equal(3);
      const ndcg1 = 1.5 / (1 + 1 / Math.log2(3));
      for (const k of [10, 20] as const) {
        expect(close(m[`hit_rate@${k}`])).to.equal(close(2 / 3));
        expect(close(m[`recall@${k}`])).to.equal(close(2 / 3));
        expect(close(m[`ndcg@${k}`])).to.equal(close((1 / Math.log2(3) + ndcg1) / 3));
        expect(close(m[`map@${k}`])).to.equal(close((0.5 + 5 / 6) / 3));
        // Items 0..5 recommended, of 8.
        expect(m[`coverage@${k}`]).to.equal(0.75);
        // (6+2+3) + (4+5+1) + (3+4+5) over 9 slots.
        expect(close(m[`mean_popularity@${k}`])).to.equal(close(33 / 9));
      }
    });

    it('no users: zeros, not NaN', () => {
      const m = computeMetrics(
        { offsets: Int32Array.from([0]), items: new Int32Array(0) },
        { offsets: Int32Array.from([0]), items: new Int32Array(0) },
        new Float32Array(3),
        3,
      );
      expect(Object.values(m).every((v) => v === 0)).to.equal(true);
    });
  });

  describe('leave-last-out', () => {
    // u0 re-listens its last track 1; u1 has one listen; u2 only ever heard track 3; u3 is plain.
    const m = interactionsFromLists([[1, 0, 2, 1], [4], [3, 3], [0, 2, 4]], 5);

    it('holds out the last track, removes its every listen, evaluates only users with training left', () => {
      const s = leaveLastOut(m, { seed: 1 });
      expect(Array.from(s.testUsers)).to.deep.equal([0, 3]);
      expect(holdouts(s)).to.deep.equal([[1], [4]]);
      // Every user stays in training; u1 and u2 whole.
      expect(rows(s.train)).to.deep.equal([[0, 2], [4], [3, 3], [0, 2]]);
      expect([s.trainListens, s.testUsersTotal, s.train.nItems]).to.deep.equal([7, 2, 5]);
      expect(describeSplit(s)).to.deep.equal({
        method: 'leave-last-out',
        seed: 1,
        maxUsers: 10_000,
        testUsers: 2,
        testUsersTotal: 2,
        trainListens: 7,
        holdoutItems: 2,
      });
    });

    it('samples test users with the seed: the same seed the same users, another seed others; training unchanged', () => {
      const big = interactionsFromLists(
        Array.from({ length: 200 }, (_, u) => [u % 7, (u + 1) % 7, (u + 3) % 7]),
        7,
      );
      const a = leaveLastOut(big, { seed: 11, maxUsers: 20 });
      const again = leaveLastOut(big, { seed: 11, maxUsers: 20 });
      const other = leaveLastOut(big, { seed: 12, maxUsers: 20 });
      expect(a.testUsers.length).to.equal(20);
      expect(a.testUsersTotal).to.equal(200);
      expect(Array.from(again.testUsers)).to.deep.equal(Array.from(a.testUsers));
      expect(Array.from(other.testUsers)).to.not.deep.equal(Array.from(a.testUsers));
      expect(Array.from(a.testUsers)).to.deep.equal(Array.from(a.testUsers).sort((x, y) => x - y));
      expect(new Set(a.testUsers).size).to.equal(20);
      expect(holdouts(a)).to.deep.equal(Array.from(a.testUsers, (u) => [(u + 3) % 7]));
      expect(Array.from(other.train.items)).to.deep.equal(Array.from(a.train.items));
    });
  });

  describe('temporal split', () => {
    // Times: u0 at 1, 2, 8, 9; u1 at 3, 4; u2 at 5, 10; u3 at 6, 7. 10 listens, fraction 0.3: the last 3 (8, 9, 10) held out.
    const m = interactionsFromLists(
      [
        [0, 1, 1, 2],
        [3, 4],
        [0, 3],
        [2, 2],
      ],
      5,
    );
    const times = Float64Array.from([1, 2, 8, 9, 3, 4, 5, 10, 6, 7]);

    it('cuts at one global time; holdouts are distinct tracks not heard before the cut', () => {
      const s = temporalSplit(m, times, { seed: 1, fraction: 0.3 });
      expect(s.cutTime).to.equal(7);
      expect(rows(s.train)).to.deep.equal([[0, 1], [3, 4], [0], [2, 2]]);
      // u0 heard 1 before the cut: only 2 is new. u2 gets 3.
      expect(Array.from(s.testUsers)).to.deep.equal([0, 2]);
      expect(holdouts(s)).to.deep.equal([[2], [3]]);
      expect(describeSplit(s)).to.include({ method: 'temporal', fraction: 0.3, cutTime: 7, trainListens: 7, testUsersTotal: 2 });
    });

    it('refuses what it cannot split', () => {
      expect(() => temporalSplit(m, times.subarray(1), { seed: 1 })).to.throw(/9 times for 10 listens/);
      expect(() => temporalSplit(m, times, { seed: 1, fraction: 1 })).to.throw(/between 0 and 1/);
      expect(() => temporalSplit(m, Float64Array.from(times).fill(NaN, 3, 4), { seed: 1 })).to.throw(/NaN/);
    });
  });

  describe('CSV', () => {
    it('maps ids to indices sorted by id and keeps each user rows in file order', async () => {
      const csv = await parseInteractionsCsv(['\uFEFFitem_id,extra,user_id', '30,"a, b",7', '10,x,5', '20,y,7', '30,z,5', ''], 'toy.csv');
      expect(Array.from(csv.userIds)).to.deep.equal([5, 7]);
      expect(Array.from(csv.itemIds)).to.deep.equal([10, 20, 30]);
      expect(rows(csv.interactions)).to.deep.equal([
        [0, 2],
        [2, 1],
      ]);
      expect(csv.rows).to.equal(4);
      expect(csv.times).to.equal(undefined);
    });

    it('reads timestamps as numbers or ISO dates, aligned with the listens', async () => {
      const csv = await parseInteractionsCsv(
        ['user_id,item_id,timestamp', '2,1,2025-01-02T00:00:00Z', '1,1,2025-01-01T00:00:00Z', '2,3,2025-01-03'],
        'toy.csv',
      );
      expect(Array.from(csv.times!)).to.deep.equal([Date.parse('2025-01-01T00:00:00Z'), Date.parse('2025-01-02T00:00:00Z'), Date.parse('2025-01-03')]);
    });

    it('names the line of a malformed row', async () => {
      const parse = (lines: string[]) => parseInteractionsCsv(lines, 'bad.csv');
      const failure = async (lines: string[]) => {
        const err = await parse(lines).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(CsvError);
        return (err as Error).message;
      };
      expect(await failure(['user,item_id', '1,2'])).to.equal('bad.csv line 1: the header lacks column user_id (got: user,item_id)');
      expect(await failure(['user_id,item_id', '1,2', '1,x'])).to.equal('bad.csv line 3: item_id "x" is not a non-negative integer');
      expect(await failure(['user_id,item_id', '1,2', '', '1.5,2'])).to.equal('bad.csv line 4: user_id "1.5" is not a non-negative integer');
      expect(await failure(['item_id,user_id', '7'])).to.equal('bad.csv line 2: expected 2 fields or more, got 1');
      expect(await failure(['user_id,item_id,timestamp', '1,2,100', '1,3,2025-01-01'])).to.match(
        /^bad\.csv line 3: timestamp "2025-01-01" is a date, earlier rows have numbers/,
      );
      expect(await failure(['user_id,item_id,timestamp', '1,2,soon'])).to.match(/^bad\.csv line 2: timestamp "soon" is neither/);
      expect(await failure([])).to.match(/empty file/);
    });
  });

  describe('evaluating models', () => {
    // The leave-last-out toy: u0 trains on [0, 2] to find 1; u3 trains on [0, 2] to find 4.
    const m = interactionsFromLists([[1, 0, 2, 1], [4], [3, 3], [0, 2, 4]], 5);
    const ids = Float64Array.from([10, 20, 30, 40, 50]);

    it('ranks through the Scorer: MostPopular on the toy, by hand', async () => {
      const s = leaveLastOut(m, { seed: 1 });
      // Training popularity: item 0: 2, 1: 0, 2: 2, 3: 2, 4: 1. Unheard by u0 and u3, by popularity
      // then index: 3, 4, 1. u0's item 1 is at rank 3 (1/log2(4) = 0.5), u3's item 4 at rank 2.
      const metrics = await evaluateModel(fitMostPopular(s.train, ids), s, { threads: 1 });
      expect(metrics['hit_rate@10']).to.equal(1);
      expect(close(metrics['ndcg@10'])).to.equal(close((0.5 + 1 / Math.log2(3)) / 2));
      expect(close(metrics['map@10'])).to.equal(close((1 / 3 + 1 / 2) / 2));
      expect(metrics['coverage@10']).to.equal(0.6);
      expect(metrics['mean_popularity@10']).to.equal(1);
    });

    it('scores on threads exactly as on one thread', async function () {
      this.timeout(60_000);
      const users = 3_000;
      const items = syntheticListens(users, 500, 10, 3);
      const big = interactionsFromLists(
        Array.from({ length: users }, (_, u) => Array.from(items.subarray(u * 10, u * 10 + 10))),
        500,
      );
      const s = leaveLastOut(big, { seed: 2, maxUsers: 2_500 });
      const model = fitMostPopular(
        s.train,
        Float64Array.from({ length: 500 }, (_, i) => i + 1),
      );
      const single = await evaluateModel(model, s, { threads: 1 });
      const pooled = await evaluateModel(model, s, { threads: 2 });
      expect(pooled).to.deep.equal(single);
      expect(single.users).to.equal(2_500);
      expect(single['hit_rate@20']).to.be.greaterThan(0);
    });

    it('a split file reads back as written', () => {
      const dir = mkdtempSync(join(tmpdir(), 'split-file-'));
      try {
        const s = temporalSplit(m, Float64Array.from([1, 2, 3, 9, 4, 5, 6, 7, 8, 10]), { seed: 5, fraction: 0.2 });
        writeSplitFile(join(dir, 's.bin'), s, ids);
        const back = readSplitFile(join(dir, 's.bin'));
        expect(back.split).to.deep.equal(s);
        expect(Array.from(back.itemIds)).to.deep.equal([10, 20, 30, 40, 50]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('evaluates families each in a process of its own, MostPopular first; a failing family gets its error', async function () {
      this.timeout(60_000);
      const s = leaveLastOut(m, { seed: 1 });
      const rows = await evaluateFamilies({
        itemIds: ids,
        split: s,
        families: ['item-knn', 'no-such-family' as ModelFamily],
        params: { 'item-knn': { neighbors: 3 } },
        seed: 1,
        threads: 1,
      });
      expect(rows.map((r) => r.family)).to.deep.equal(['most-popular', 'item-knn', 'no-such-family']);
      expect(rows[0]!.metrics).to.deep.equal(await evaluateModel(fitMostPopular(s.train, ids), s, { threads: 1 }));
      expect(rows[0]!.ndcgUplift).to.equal(0);
      expect(rows[1]!.params).to.deep.equal({ neighbors: 3, similarity: 'cosine' });
      expect(rows[1]!.ndcgUplift).to.equal(rows[1]!.metrics!['ndcg@10'] / rows[0]!.metrics!['ndcg@10'] - 1);
      for (const row of rows.slice(0, 2)) {
        expect(row.error).to.equal(undefined);
        expect(row.baseRssMb).to.be.greaterThan(10);
        expect(row.peakRssMb).to.be.at.least(row.baseRssMb);
      }
      expect(rows[2]!.metrics).to.equal(null);
      expect(rows[2]!.error).to.be.a('string').and.not.equal('');
    });
  });
});
