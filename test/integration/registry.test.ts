import { expect } from 'chai';
import type { Db } from 'mongodb';
import { MODEL_VERSIONS, aliases, loadArtifact, registerModel, setAlias, type ModelVersionDocument } from '../../stores/modelRegistry.js';
import { CHALLENGER_ID, STATE } from '../../stores/recommendations.js';
import { createTrainingActivities } from '../../activities/training/activities.js';
import { cannotRemap } from '../../activities/training/evaluation.js';
import { encodeModel } from '../../models/artifact.js';
import { interactionsFromLists } from '../../models/interactions.js';
import { fitMostPopular } from '../../models/mostPopular.js';
import type { RecommenderModel } from '../../models/types.js';
import { getTestStack } from '../support/testStack.js';
import { defaultTrainingSettings } from '../../config/config.js';

// The registry against the real MongoDB-protocol server: versions claimed before their
// artifacts (racing registrations never share one), the aliases' rules, and a decision
// that refuses a champion moved under it.

describe('model registry (real MongoDB-protocol server)', function () {
  this.timeout(120_000);
  let db: Db;
  const modelOf = (n: number): RecommenderModel =>
    fitMostPopular(interactionsFromLists([[0, 1], Array.from({ length: n }, (_, i) => i % 4)], 4), Float64Array.from([1, 2, 3, 4]));

  before(async () => {
    const stack = await getTestStack();
    db = (await stack.mongo()).db(`${stack.mongodbDb}_registry`);
  });

  it('racing registrations of one name get distinct versions, each with its own artifact', async () => {
    const models = [1, 2, 3, 4, 5, 6].map(modelOf);
    const docs = await Promise.all(models.map((model) => registerModel(db, { name: 'race', model })));
    expect(docs.map((d) => d.version).sort()).to.deep.equal([1, 2, 3, 4, 5, 6]);
    for (const [i, doc] of docs.entries()) {
      expect((await loadArtifact(db, doc._id)).equals(encodeModel(models[i] as RecommenderModel)), doc._id).to.equal(true);
      expect((await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: doc._id }))?.status).to.equal('registered');
    }
    // The same training run registers once.
    const lineage = { run: 'retrain-x/most-popular' };
    const first = await registerModel(db, { name: 'race', model: modelOf(9), lineage });
    const again = await registerModel(db, { name: 'race', model: modelOf(9), lineage });
    expect(again._id).to.equal(first._id);
  });

  it('a champion is never its own challenger; promoting the challenger clears the canary', async () => {
    const a = await registerModel(db, { name: 'alias', model: modelOf(1) });
    const b = await registerModel(db, { name: 'alias', model: modelOf(2) });
    await setAlias(db, 'champion', a._id, 'test');
    await setAlias(db, 'challenger', b._id, 'test');
    await db.collection(STATE).insertOne({
      _id: CHALLENGER_ID,
      batch_id: 'x',
      collection: 'recommendations_x',
      previous_batch_id: null,
      switched_at: new Date(),
      reason: 'test',
    } as never);
    let refused: Error | undefined;
    await setAlias(db, 'challenger', a._id, 'test').catch((e: Error) => (refused = e));
    expect(refused?.message).to.equal(`${a._id} is the champion: it cannot be its own challenger`);
    await setAlias(db, 'champion', b._id, 'the canary won');
    const now = await aliases(db);
    expect(now.get('champion')?.model_key).to.equal(b._id);
    expect(now.has('challenger'), 'the challenger became the champion').to.equal(false);
    expect(await db.collection(STATE).findOne({ _id: CHALLENGER_ID as never }), 'its batch is no longer served').to.equal(null);
    expect((await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: a._id }))?.status).to.equal('archived');
  });

  it('a decision made against a champion that moved meanwhile is refused, and nothing is stored', async () => {
    const current = (await aliases(db)).get('champion')?.model_key as string;
    const activities = createTrainingActivities({ db, settings: defaultTrainingSettings(), canaryEnabled: () => false });
    const baseline = { key: 'most-popular (baseline)', family: 'most-popular', metrics: { 'ndcg@10': 0.1 } };
    const err = await activities
      .decideRetraining({
        runId: 'retrain-moved',
        trigger: 'manual',
        snapshotId: 'snap-x',
        seed: 1,
        candidates: [{ key: 'alias@9', family: 'most-popular', metrics: { 'ndcg@10': 0.9, 'coverage@20': 1 } }],
        baseline,
        champion: { key: 'alias@1', family: 'most-popular', metrics: { 'ndcg@10': 0.2 } },
        skipped: [],
      })
      .catch((e: Error & { type?: string }) => e);
    expect((err as { type?: string }).type).to.equal('ChampionMoved');
    expect((err as Error).message).to.equal(`the champion moved during this retraining (alias@1 -> ${current}): nothing decided; retrain again`);
    expect(await db.collection('model_decisions').findOne({ _id: 'retrain-moved' as never })).to.equal(null);
    expect((await aliases(db)).get('champion')?.model_key).to.equal(current);
  });

  it("an EASE champion too big to map onto today's catalogue is said so, not allocated", () => {
    const ease = { ...modelOf(1), family: 'ease' as const, weights: new Float32Array(16) };
    expect(cannotRemap(ease, 5000)).to.equal(null);
    expect(cannotRemap(ease, 60_000)).to.equal('EASE over 60000 tracks would need 13733 MB of weights');
    expect(cannotRemap(modelOf(1), 1_000_000)).to.equal(null);
  });
});
