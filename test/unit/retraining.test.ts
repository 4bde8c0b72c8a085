import { expect } from 'chai';
import { totalmem } from 'node:os';
import { loadConfig } from '../../config/config.js';
import { decidePromotion } from '../../activities/training/decide.js';
import { pairedBootstrap } from '../../models/evaluation/bootstrap.js';
import { driftReasons, psi, trackBins } from '../../activities/training/drift.js';
import { parseParamList } from '../../config/trainingSettings.js';
import type { ScoredModel } from '../../contracts/training.js';

const model = (key: string, ndcg: number, coverage = 0.3): ScoredModel => ({
  key,
  family: key.split('@')[0] as string,
  metrics: { 'ndcg@10': ndcg, 'coverage@20': coverage },
});
const rules = { minUplift: 0.02, minCoverage: 0.05 };
const baseline = model('most-popular (baseline)', 0.1, 0.01);

describe('retraining: the promotion rule', () => {
  it('promotes the first champion when it beats MostPopular and keeps coverage', () => {
    const d = decidePromotion({ candidates: [model('item-knn@1', 0.2), model('als@1', 0.25)], champion: null, baseline }, rules);
    expect(d.promoted).to.equal('als@1');
    expect(d.challenger).to.equal(null);
    expect(d.verdicts.map((v) => v.passed)).to.deep.equal([true, true]);
    expect(d.summary).to.equal('promoted als@1 (ndcg@10 0.2500, first champion)');
  });

  it('promotes only past the uplift: +2 % passes, +1.9 % and equal do not', () => {
    const champion = model('item-knn@1', 0.2);
    expect(decidePromotion({ candidates: [model('als@2', 0.204)], champion, baseline }, rules).promoted).to.equal('als@2');
    const short = decidePromotion({ candidates: [model('als@2', 0.2038)], champion, baseline }, rules);
    expect(short.promoted).to.equal(null);
    expect(short.verdicts[0]?.failed).to.deep.equal([
      'ndcg@10 vs champion item-knn@1: 0.2038 vs 0.2000 (+1.9 %, needs +2.0 %); no per-user scores to bootstrap: judged on the means',
    ]);
    // Short of the uplift, but better than MostPopular and covering enough: the canary's challenger.
    expect(short.challenger).to.equal('als@2');
    const equal = decidePromotion({ candidates: [model('als@2', 0.2)], champion, baseline }, rules);
    expect(equal.promoted).to.equal(null);
    expect(equal.summary).to.match(/^nothing promoted: champion item-knn@1 stays/);
    expect(equal.challenger, 'an equal model has nothing to show on the canary').to.equal(null);
  });

  it('never promotes a worse candidate, one that does not beat MostPopular, or one under the coverage guardrail', () => {
    const champion = model('item-knn@1', 0.2);
    const worse = decidePromotion({ candidates: [model('als@2', 0.15)], champion, baseline }, rules);
    expect(worse.promoted).to.equal(null);
    expect(worse.verdicts[0]?.failed[0]).to.include('-25.0 %');
    const noBaseline = decidePromotion({ candidates: [model('ease@1', 0.1)], champion: null, baseline }, rules);
    expect(noBaseline.promoted).to.equal(null);
    expect(noBaseline.challenger).to.equal(null);
    expect(noBaseline.verdicts[0]?.failed).to.deep.equal(['does not beat MostPopular: ndcg@10 0.1000 vs 0.1000']);
    const narrow = decidePromotion({ candidates: [model('als@2', 0.5, 0.049)], champion, baseline }, rules);
    expect(narrow.promoted).to.equal(null);
    expect(narrow.verdicts[0]?.failed).to.deep.equal(['coverage@20 0.0490 < guardrail 0.05']);
  });

  it('refuses to promote the champion over itself and picks the best of several that pass', () => {
    const champion = model('item-knn@1', 0.2);
    const d = decidePromotion({ candidates: [model('item-knn@1', 0.2), model('als@2', 0.3), model('ease@1', 0.31, 0.01)], champion, baseline }, rules);
    expect(d.promoted).to.equal('als@2');
    expect(d.verdicts.map((v) => [v.key, v.passed])).to.deep.equal([
      ['item-knn@1', false],
      ['als@2', true],
      ['ease@1', false],
    ]);
    expect(d.verdicts[0]?.failed).to.deep.equal(['is the champion already']);
  });
});

describe('retraining: noise in the promotion rule', () => {
  const champion = model('item-knn@1', 0.2);
  // 2,000 test users: the champion finds a user's item at rank 1 or not at all.
  const users = 2000;
  const championScores = Float64Array.from({ length: users }, (_, t) => (t % 5 === 0 ? 1 : 0));

  it('a paired bootstrap of identical or shifted scores gives the exact interval', () => {
    expect(pairedBootstrap(championScores, championScores)).to.deep.include({ mean: 0, low: 0, high: 0, users, resamples: 1000, level: 0.95 });
    const shifted = pairedBootstrap(
      championScores.map((x) => x + 0.01),
      championScores,
    );
    expect([shifted.low, shifted.high].map((x) => Number(x.toFixed(12)))).to.deep.equal([0.01, 0.01]);
  });

  it('on noisy differences, the interval is about mean ± 1.96 standard errors, and the same for the same seed', () => {
    // Per 50 users the champion finds 10, the candidate 15: 8 the champion misses, 7 of the
    // champion's, not 3 others. The difference per user is -1, 0 or 1 (mean 0.1).
    const candidate = Float64Array.from({ length: users }, (_, t) => (t % 50 < 11 && t % 5 !== 0 ? 1 : t % 5 === 0 && t % 50 >= 35 ? 0 : t % 5 === 0 ? 1 : 0));
    const i = pairedBootstrap(candidate, championScores, { seed: 3 });
    let sum = 0;
    let squares = 0;
    for (let t = 0; t < users; t++) {
      const d = (candidate[t] as number) - (championScores[t] as number);
      sum += d;
      squares += d * d;
    }
    const mean = sum / users;
    const se = Math.sqrt((squares / users - mean * mean) / users);
    expect(i.mean).to.be.closeTo(mean, 1e-12);
    expect(i.low).to.be.closeTo(mean - 1.96 * se, 0.3 * se);
    expect(i.high).to.be.closeTo(mean + 1.96 * se, 0.3 * se);
    expect(pairedBootstrap(candidate, championScores, { seed: 3 })).to.deep.equal(i);
  });

  it('refuses a candidate whose uplift the interval does not clear, and records the interval', () => {
    const noisy = { mean: 0.01, low: -0.002, high: 0.022, level: 0.95, resamples: 1000, users };
    const clear = { mean: 0.01, low: 0.004, high: 0.016, level: 0.95, resamples: 1000, users };
    const refused = decidePromotion({ candidates: [model('als@2', 0.21)], champion, baseline, intervals: { 'als@2': noisy } }, rules);
    expect(refused.promoted).to.equal(null);
    expect(refused.verdicts[0]?.failed).to.deep.equal([
      'ndcg@10 vs champion item-knn@1: 0.2100 vs 0.2000 (+5.0 %, needs +2.0 %); paired 95 % interval of the difference over 2000 users [-0.0020, +0.0220]: it reaches 0, the difference may be noise',
    ]);
    expect(refused.verdicts[0]?.interval).to.deep.equal(noisy);
    // Better on the means: the canary may still try it.
    expect(refused.challenger).to.equal('als@2');
    const promoted = decidePromotion({ candidates: [model('als@2', 0.21)], champion, baseline, intervals: { 'als@2': clear } }, rules);
    expect(promoted.promoted).to.equal('als@2');
    expect(promoted.verdicts[0]?.reasons[2]).to.equal(
      'ndcg@10 vs champion item-knn@1: 0.2100 vs 0.2000 (+5.0 %, needs +2.0 %); paired 95 % interval of the difference over 2000 users [+0.0040, +0.0160]',
    );
    // A clear interval does not excuse a missed margin.
    expect(decidePromotion({ candidates: [model('als@2', 0.203)], champion, baseline, intervals: { 'als@2': clear } }, rules).promoted).to.equal(null);
  });
});

describe('retraining: drift', () => {
  it('PSI is 0 for equal distributions and matches a hand computation otherwise', () => {
    expect(psi({ a: 1, b: 3 }, { a: 10, b: 30 })).to.equal(0);
    // (0.5-0.25) ln(0.5/0.25) + (0.5-0.75) ln(0.5/0.75)
    const expected = 0.25 * Math.log(2) - 0.25 * Math.log(0.5 / 0.75);
    expect(psi({ a: 1, b: 3 }, { a: 1, b: 1 })).to.be.closeTo(expected, 1e-12);
    // A bin empty on one side counts as 1e-4, not as infinity.
    expect(psi({ a: 1 }, { b: 1 })).to.be.closeTo(2 * (1 - 1e-4) * Math.log(1 / 1e-4), 1e-9);
  });

  it('bins tracks as the reference top tracks plus one other bin', () => {
    const bins = trackBins(
      new Map([
        [1, 10],
        [2, 5],
        [3, 1],
      ]),
      new Map([
        [2, 4],
        [3, 2],
        [9, 7],
      ]),
      2,
    );
    expect(bins.reference).to.deep.equal({ '1': 10, '2': 5, other: 1 });
    expect(bins.current).to.deep.equal({ '2': 4, other: 9 });
  });

  it('names every threshold crossed', () => {
    const t = { psi: 0.2, metricDrop: 0.1 };
    expect(driftReasons({ psiTracks: 0.1, psiGenres: 0.05, championNdcgThen: 0.2, championNdcgNow: 0.19 }, t)).to.deep.equal([]);
    expect(driftReasons({ psiTracks: 0.35, psiGenres: 0.25, championNdcgThen: 0.2, championNdcgNow: 0.15 }, t)).to.deep.equal([
      'listens over tracks shifted: PSI 0.350 > 0.2',
      'listens over genres shifted: PSI 0.250 > 0.2',
      "the champion's NDCG@10 dropped 25.0 % (0.2000 -> 0.1500), more than 10 %",
    ]);
  });
});

describe('retraining: settings', () => {
  it('has the documented defaults and reads every variable', () => {
    const d = loadConfig({ HOME: '/h' }).training;
    expect(d).to.deep.include({
      families: ['item-knn', 'rp3beta', 'als', 'ease'],
      params: {},
      minUplift: 0.02,
      minCoverage: 0.05,
      driftPsi: 0.2,
      driftMetricDrop: 0.1,
      evalMaxUsers: 10_000,
      keepSnapshots: 3,
      tuneBudgetS: 600,
    });
    // Half the machine's memory, in MB.
    expect(d.memoryMb).to.equal(Math.floor(totalmem() / 2 / 2 ** 20));
    const settings = loadConfig({
      HOME: '/h',
      MOOVITAMIX_RETRAIN_FAMILIES: 'als, item-knn',
      MOOVITAMIX_RETRAIN_PARAMS: 'als.factors=32,item-knn.similarity=bm25',
      MOOVITAMIX_PROMOTE_MIN_UPLIFT: '0.05',
      MOOVITAMIX_PROMOTE_MIN_COVERAGE: '0.1',
      MOOVITAMIX_DRIFT_PSI: '0.3',
      MOOVITAMIX_DRIFT_METRIC_DROP: '0.2',
      MOOVITAMIX_EVAL_MAX_USERS: '500',
      MOOVITAMIX_TRAINING_THREADS: '1',
      MOOVITAMIX_KEEP_SNAPSHOTS: '5',
      MOOVITAMIX_RETRAIN_TUNE_BUDGET_S: '0',
      MOOVITAMIX_TRAINING_MEMORY_MB: '4096',
    }).training;
    expect(settings).to.deep.equal({
      families: ['als', 'item-knn'],
      params: { als: { factors: '32' }, 'item-knn': { similarity: 'bm25' } },
      minUplift: 0.05,
      minCoverage: 0.1,
      driftPsi: 0.3,
      driftMetricDrop: 0.2,
      evalMaxUsers: 500,
      threads: 1,
      keepSnapshots: 5,
      tuneBudgetS: 0,
      memoryMb: 4096,
    });
  });

  it('reports every bad variable by name', () => {
    let message = '';
    try {
      loadConfig({
        HOME: '/h',
        MOOVITAMIX_RETRAIN_FAMILIES: 'als,deep-magic',
        MOOVITAMIX_RETRAIN_PARAMS: 'factors=3',
        MOOVITAMIX_PROMOTE_MIN_COVERAGE: '1.5',
        MOOVITAMIX_EVAL_MAX_USERS: '-4',
        MOOVITAMIX_DRIFT_PSI: '0.2.1',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    const problems = message.split('\n  - ').slice(1);
    expect(problems).to.have.length(5);
    expect(problems.find((p) => p.startsWith('MOOVITAMIX_RETRAIN_FAMILIES'))).to.include('deep-magic');
    expect(problems).to.include('MOOVITAMIX_RETRAIN_PARAMS: "factors=3" is not family.name=value');
    expect(problems.find((p) => p.startsWith('MOOVITAMIX_PROMOTE_MIN_COVERAGE'))).to.include('must be a number from 0 to 1');
    expect(problems.find((p) => p.startsWith('MOOVITAMIX_EVAL_MAX_USERS'))).to.include('whole number from 10 to 10000000');
    expect(problems.find((p) => p.startsWith('MOOVITAMIX_DRIFT_PSI'))).to.include('"0.2.1"');
    expect(() => parseParamList(['svd.rank=3'])).to.throw('unknown family svd');
  });
});
