import { expect } from 'chai';
import { evaluateModel } from '../../models/evaluation/evaluate.js';
import { leaveLastOut } from '../../models/evaluation/split.js';
import { fitProgress, TUNING_GRIDS, tuneFamily, tuningGrid } from '../../models/evaluation/tune.js';
import { fitModel, resolveFamilyParams } from '../../models/families.js';
import { tasteListens } from '../../simulator/taste.js';

describe('tuning', function () {
  this.timeout(120_000);

  it('a grid holds the fixed parameters, starts with the defaults and visits the rest in a seeded order', () => {
    const grid = tuningGrid('rp3beta', { neighbors: 200 }, 3);
    // alpha 2 x beta 4, neighbors held: the defaults (alpha 1, beta 0.3) first, then the 7 others.
    expect(grid).to.have.length(8);
    expect(grid[0]).to.deep.equal({ neighbors: 200 });
    expect(new Set(grid.map((p) => JSON.stringify(resolveFamilyParams('rp3beta', p)))).size).to.equal(8);
    for (const p of grid) expect(resolveFamilyParams('rp3beta', p).neighbors).to.equal(200);
    expect(tuningGrid('rp3beta', { neighbors: 200 }, 3)).to.deep.equal(grid);
    expect(tuningGrid('rp3beta', { neighbors: 200 }, 4).slice(1)).to.not.deep.equal(grid.slice(1));
    // ALS: 2 x 3 x 3 settings, none of them the defaults (64 factors, regularization 0.01, alpha 1), so 19.
    expect(tuningGrid('als', {}, 1)).to.have.length(1 + 2 * 3 * 3);
    expect(tuningGrid('most-popular', {}, 1)).to.deep.equal([{}]);
    expect(Object.keys(TUNING_GRIDS).sort()).to.deep.equal(['als', 'ease', 'item-knn', 'most-popular', 'rp3beta']);
  });

  const data = tasteListens({ seed: 'tuning', users: 1500, tracks: 400, listensPerUser: 20 });
  const split = leaveLastOut(data, { seed: 1, maxUsers: 1000 });
  const itemIds = Float64Array.from({ length: 400 }, (_, i) => i + 1);
  const options = { seed: 1, threads: 1 };

  it('scores every setting on a validation item carved from the training part, and chooses the best', async () => {
    const tuning = await tuneFamily('rp3beta', split, itemIds, {}, { ...options, budgetMs: 600_000 });
    expect(tuning.tried).to.have.length(16);
    expect(tuning.untried).to.equal(0);
    const best = Math.max(...tuning.tried.map((t) => t.validationNdcg));
    expect(tuning.validationNdcg).to.equal(best);
    expect(tuning.tried[0]!.params).to.deep.equal({ neighbors: 100, alpha: 1, beta: 0.3 });
    // Validation held out one more track of each evaluated user; the test items were already out.
    expect(tuning.validationUsers).to.equal(1000);
    expect(tuning.validationTrainListens).to.be.below(split.trainListens - 1000 + 1);
    // The validation figure is reproducible from the validation split alone: the test items play no part.
    const validation = leaveLastOut(split.train, { seed: 1, maxUsers: split.maxUsers });
    const model = await fitModel('rp3beta', validation.train, itemIds, tuning.chosen, options);
    expect((await evaluateModel(model, validation, { threads: 1 }))['ndcg@10']).to.equal(tuning.validationNdcg);
  });

  it('reports a long fit every tenth of the way, never its end, and a short fit not at all', () => {
    const said: string[] = [];
    const progress = fitProgress((message) => said.push(message), 0);
    for (const done of [0.05, 0.12, 0.15, 0.31, 0.9, 1]) progress(done);
    expect(said.map((m) => m.split(' after')[0])).to.deep.equal(['fitting: 10 %', 'fitting: 30 %', 'fitting: 90 %']);
    expect(said[0]).to.match(/^fitting: 10 % after \d+ s, about \d+ s to go$/);
    const quiet: string[] = [];
    const short = fitProgress((message) => quiet.push(message));
    for (const done of [0.5, 0.9]) short(done);
    expect(quiet).to.deep.equal([]);
  });

  it('a spent budget still tries the defaults, and says how much of the grid it left', async () => {
    const tuning = await tuneFamily('item-knn', split, itemIds, { neighbors: 20 }, { ...options, budgetMs: 0 });
    expect(tuning.tried.map((t) => t.params)).to.deep.equal([{ neighbors: 20, similarity: 'cosine' }]);
    expect(tuning.untried).to.equal(2);
    expect(tuning.chosen).to.deep.equal({ neighbors: 20, similarity: 'cosine' });
  });
});
