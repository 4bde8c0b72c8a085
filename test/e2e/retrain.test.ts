import { expect } from 'chai';
import type { Client } from '@temporalio/client';
import { MODEL_ALIAS_LOG, MODEL_VERSIONS, aliases, loadArtifact, type AliasMove, type ModelVersionDocument } from '../../stores/modelRegistry.js';
import { activeState, challengerState } from '../../stores/recommendations.js';
import { DECISIONS, type DecisionDocument } from '../../stores/decisions.js';
import type { Config } from '../../config/config.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import type { retrain } from '../../workflows/retrain.js';
import type { RetrainInput, RetrainResult } from '../../contracts/workflows.js';
import { until } from '../support/chaos.js';
import { runCli } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { withWorker } from '../support/withWorker.js';
import { TRAINING_SNAPSHOTS } from '../../stores/snapshots.js';

// Retraining for real: taste-mode data ingested by the daily pipeline, candidates trained
// and judged on one snapshot, promotion, recomputed lists, the CLI, rollback and drift.

describe('retraining, end to end', function () {
  this.timeout(600_000);
  let stack: TestStack;
  let sim: Simulator;
  let config: Config;
  let env: NodeJS.ProcessEnv;
  const db = async () => (await stack.mongo()).db(config.mongodbDb);

  before(async () => {
    stack = await getTestStack();
    sim = createSimulator({ seed: 'retrain', tracks: 300, users: 800, listenHistory: 800, taste: true });
    const base = stack.config();
    config = {
      ...base,
      apiUrl: await sim.listen(0),
      mongodbDb: `${stack.mongodbDb}_retrain`,
      taskQueue: `retrain-${process.pid}`,
      http: { ...base.http, timeoutMs: 2_000, backoffMs: 20, maxAttempts: 3 },
      recommend: { ...base.recommend, k: 10, chunkSize: 200 },
      // Tuned within a budget no run here reaches: the whole grid, the same choice every time.
      training: { ...base.training, families: ['item-knn', 'als'], params: { als: { factors: '16', iterations: '8' } }, tuneBudgetS: 600 },
    };
    env = stack.env({ MONGODB_DB: config.mongodbDb, TEMPORAL_TASK_QUEUE: config.taskQueue });
  });
  after(async () => {
    await sim.close();
  });

  const daily = (client: Client, date: string, extra: { drift?: boolean } = {}) =>
    client.workflow.execute<typeof dailyPipeline>('dailyPipeline', { workflowId: `daily-${date}`, taskQueue: config.taskQueue, args: [{ date, ...extra }] });
  const retrainRun = (client: Client, id: string, input: RetrainInput) =>
    client.workflow.execute<typeof retrain>('retrain', { workflowId: id, taskQueue: config.taskQueue, args: [input] });
  const version = async (key: string) => (await db()).collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: key });

  let first: RetrainResult;

  it('trains candidates on a snapshot, promotes the best over MostPopular, and recomputes every list with it', async () => {
    const cli = await withWorker(config, async (client) => {
      const ingest = await daily(client, '2025-02-01', { drift: false });
      expect(ingest.recommendations?.result?.model).to.match(/^most-popular@auto-/);
      return runCli(['retrain', '--seed', '7', '--wait', '--json'], env, 300_000);
    });
    expect(cli.code, cli.stderr).to.equal(0);
    first = JSON.parse(cli.stdout) as RetrainResult;
    expect(first).to.deep.include({ trigger: 'manual', seed: 7 });
    expect(first.candidates.map((c) => c.status === 'trained' && c.key)).to.deep.equal(['item-knn@1', 'als@1']);
    expect(first.champion).to.equal(null);
    const base = first.baseline.metrics['ndcg@10'] as number;
    expect(first.baseline.metrics.users, 'every user with 2 listens is a test user').to.equal(800);
    // Taste-mode data has structure: both families clearly beat MostPopular.
    for (const c of first.candidates) {
      if (c.status !== 'trained') throw new Error(`${c.family} skipped: ${c.reason}`);
      expect(c.metrics['ndcg@10'], c.key).to.be.greaterThan(base * 1.2);
    }
    // Each family tuned on a validation split: its grid searched (ALS's factors and iterations held, as configured), the best refitted.
    const [knn, als] = first.candidates;
    if (knn?.status !== 'trained' || als?.status !== 'trained') throw new Error('not trained');
    expect(knn.tuning?.tried).to.have.length(9);
    expect(als.tuning?.tried).to.have.length(1 + 3 * 3);
    for (const t of als.tuning?.tried ?? []) expect(t.params).to.deep.include({ factors: 16, iterations: 8 });
    for (const c of [knn, als]) {
      expect(c.tuning?.untried).to.equal(0);
      expect(c.tuning?.validation_ndcg10).to.equal(Math.max(...(c.tuning?.tried ?? []).map((t) => t.validation_ndcg10)));
    }
    const best = [...first.candidates].sort((a, b) =>
      b.status === 'trained' && a.status === 'trained' ? (b.metrics['ndcg@10'] as number) - (a.metrics['ndcg@10'] as number) : 0,
    )[0];
    const bestKey = best?.status === 'trained' ? best.key : '';
    expect(first.decision.promoted).to.equal(bestKey);
    expect(first.decision.summary).to.match(new RegExp(`^promoted ${bestKey} \\(ndcg@10 0\\.\\d{4}, first champion\\)$`));

    const d = await db();
    expect((await aliases(d)).get('champion')?.model_key).to.equal(bestKey);
    const promoted = await version(bestKey);
    expect(promoted?.status).to.equal('champion');
    const workflowId = cli.stderr.match(/Started (\S+)/)?.[1] as string;
    expect(promoted?.lineage).to.deep.include({ snapshot_id: first.snapshotId, seed: 7 });
    expect(promoted?.lineage.run).to.match(new RegExp(`^${workflowId}@[0-9a-f-]{36}/${promoted?.family}$`));
    expect(promoted?.lineage.split).to.deep.include({ method: 'leave-last-out', seed: 7 });
    expect(promoted?.lineage.code_version).to.match(/^0\.1\.0\+[0-9a-f]{12}$/);
    expect(await d.collection(TRAINING_SNAPSHOTS).findOne({ _id: first.snapshotId as never })).to.deep.include({ users: 800, tracks: 300, listens: 4000 });
    const decision = await d.collection<DecisionDocument>(DECISIONS).findOne({ workflow_id: workflowId });
    expect(decision?._id).to.equal(promoted?.lineage.run?.slice(0, promoted.lineage.run.lastIndexOf('/')));
    expect(decision?.decision.promoted).to.equal(bestKey);
    expect(decision?.baseline.metrics['ndcg@10']).to.equal(base);
    // The chosen setting and its validation score, in the version's lineage and in the decision.
    const chosen = best?.status === 'trained' ? best.tuning : undefined;
    expect((promoted?.lineage as { tuning?: unknown }).tuning).to.deep.equal(chosen);
    expect(decision?.candidates.find((c) => c.key === bestKey)?.tuning).to.deep.equal(chosen);
    expect(promoted?.params).to.deep.include(chosen?.chosen ?? { missing: true });

    // Every user's list was recomputed with the new champion.
    expect(first.recommendations).to.have.length(1);
    expect(first.recommendations[0]).to.deep.include({ slot: 'active', status: 'published' });
    const state = await activeState(d);
    expect(state?.batch_id).to.equal(first.recommendations[0]?.batchId);
    const batch = await d.collection('recommendation_batches').findOne({ _id: state?.batch_id as never });
    expect(batch).to.deep.include({ mode: 'full', users: 800 });
    expect(batch?.model.key).to.equal(bestKey);

    const shown = await runCli(['models', 'show', 'champion'], env);
    expect(shown.code, shown.stderr).to.equal(0);
    expect(shown.stdout)
      .to.include(`${bestKey}  (${promoted?.family}, champion, champion)`)
      .and.include(`snapshot ${first.snapshotId}, split leave-last-out seed 7`)
      .and.include(first.decision.summary)
      .and.include('beats MostPopular');
    const listed = await runCli(['models', 'list'], env);
    expect(listed.stdout).to.match(new RegExp(`${bestKey}\\s+\\S+\\s+champion\\s+champion`));
  });

  it('does not promote a candidate equal to or worse than the champion; the same seed gives the same model', async () => {
    const champion = first.decision.promoted as string;
    const family = champion.split('@')[0] as 'item-knn' | 'als';
    const again = await withWorker(config, (client) => retrainRun(client, 'retrain-again', { seed: 7, families: [family, 'most-popular'] }));
    expect(again.snapshotId, 'unchanged data, same snapshot').to.equal(first.snapshotId);
    const twin = again.candidates[0];
    if (twin?.status !== 'trained') throw new Error('not trained');
    expect(twin.metrics).to.deep.equal((first.candidates.find((c) => c.status === 'trained' && c.key === champion) as { metrics: unknown }).metrics);
    expect(again.champion?.metrics['ndcg@10']).to.equal(twin.metrics['ndcg@10']);
    expect(again.decision.promoted).to.equal(null);
    // The twin and the champion found the same items for every test user: the paired interval is exactly 0.
    expect(again.decision.verdicts[0]?.failed[0]).to.match(
      /\(\+0\.0 %, needs \+2\.0 %\); paired 95 % interval of the difference over \d+ users \[\+0\.0000, \+0\.0000\]: it reaches 0, the difference may be noise$/,
    );
    expect(again.decision.verdicts[0]?.interval).to.deep.include({ mean: 0, low: 0, high: 0, resamples: 1000 });
    expect(again.decision.verdicts[1]?.failed).to.include(
      'does not beat MostPopular: ' + `ndcg@10 ${again.baseline.metrics['ndcg@10']?.toFixed(4)} vs ${again.baseline.metrics['ndcg@10']?.toFixed(4)}`,
    );
    expect(again.recommendations, 'nothing promoted, nothing recomputed').to.deep.equal([]);

    // Both found by their search attributes, as the Temporal UI's list filter finds them.
    const listed = async (query: string, count: number) => {
      let runs: { workflowId: string; attributes: Record<string, unknown> }[] = [];
      await until(
        async () => {
          const r = await runCli(['runs', '--query', `TaskQueue = '${config.taskQueue}' AND ${query}`, '--json'], env);
          expect(r.code, r.stderr).to.equal(0);
          runs = (JSON.parse(r.stdout) as { runs: typeof runs }).runs;
          return runs.length >= count;
        },
        30_000,
        `${count} run(s) match ${query}`,
      );
      return runs;
    };
    const promotedRuns = await listed(`WorkflowType = 'retrain' AND MoovitamixDecision = 'promoted' AND MoovitamixPromotedFamily = '${family}'`, 1);
    expect(promotedRuns).to.have.length(1);
    expect(promotedRuns[0]?.attributes).to.deep.equal({
      MoovitamixTrigger: 'manual',
      MoovitamixDecision: 'promoted',
      MoovitamixModel: champion,
      MoovitamixPromotedFamily: family,
    });
    const kept = await listed("WorkflowType = 'retrain' AND MoovitamixDecision = 'kept'", 1);
    expect(kept.map((r) => r.workflowId)).to.deep.equal(['retrain-again']);
    const daily = await listed("WorkflowType = 'dailyPipeline' AND MoovitamixPublished = true AND MoovitamixModel STARTS_WITH 'most-popular@'", 1);
    expect(daily.map((r) => r.workflowId)).to.deep.equal(['daily-2025-02-01']);
    expect(daily[0]?.attributes).to.include({ MoovitamixRunDate: '2025-02-01', MoovitamixStatus: 'completed' });
    const d = await db();
    expect((await aliases(d)).get('champion')?.model_key).to.equal(champion);
    // Same data, parameters and seed: byte-identical artifacts.
    expect((await loadArtifact(d, twin.key)).equals(await loadArtifact(d, champion))).to.equal(true);
    expect((await version(twin.key))?.status).to.equal('rejected');
  });

  it('promote and rollback move the champion back and recompute; the challenger gets a batch of its own', async () => {
    const champion = first.decision.promoted as string;
    const other = first.candidates.map((c) => (c.status === 'trained' ? c.key : '')).find((k) => k !== champion) as string;
    await withWorker(config, async () => {
      const promoted = await runCli(['models', 'promote', other, '--reason', 'A/B winner', '--wait'], env, 300_000);
      expect(promoted.code, promoted.stderr).to.equal(0);
      expect(promoted.stdout).to.include(`champion: ${champion} -> ${other}`);
      const d = await db();
      expect((await d.collection('recommendation_batches').findOne({ _id: (await activeState(d))?.batch_id as never }))?.model.key).to.equal(other);

      const back = await runCli(['models', 'rollback', '--wait'], env, 300_000);
      expect(back.code, back.stderr).to.equal(0);
      expect(back.stdout).to.include(`champion: ${other} -> ${champion} (rolled back)`);
      expect((await aliases(d)).get('champion')?.model_key).to.equal(champion);
      expect((await version(other))?.status).to.equal('archived');
      expect(
        (await d.collection('recommendation_batches').findOne({ _id: (await activeState(d))?.batch_id as never }))?.model.key,
        'recomputed with the champion rolled back to',
      ).to.equal(champion);
      const log = await d.collection<AliasMove>(MODEL_ALIAS_LOG).find({ alias: 'champion' }).toArray();
      expect(log.map((m) => [m.from, m.to, m.kind])).to.deep.equal([
        [null, champion, 'promote'],
        [champion, other, 'promote'],
        [other, champion, 'rollback'],
      ]);
      // The first champion replaced nobody: nothing further back.
      const refused = await runCli(['models', 'rollback'], env);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.include(`rollback refused: ${champion} was the first champion`);

      const canary = await runCli(['models', 'promote', other, '--alias', 'challenger', '--wait'], env, 300_000);
      expect(canary.code, canary.stderr).to.equal(0);
      const pointer = await challengerState(d);
      const challengerBatch = await d.collection('recommendation_batches').findOne({ _id: pointer?.batch_id as never });
      expect(challengerBatch).to.deep.include({ slot: 'challenger', users: 800, status: 'published' });
      expect(challengerBatch?.model.key).to.equal(other);
      expect(
        (await d.collection('recommendation_batches').findOne({ _id: (await activeState(d))?.batch_id as never }))?.model.key,
        'the active batch is untouched',
      ).to.equal(champion);
    });
  });

  it('the daily run checks drift against the champion: stable on unchanged data, a retraining past the threshold', async () => {
    // The mutation leaves listens pointing at deleted tracks: the gate would (rightly) stop
    // downstream steps on such a day, so it is off here to reach the drift check.
    const low = { ...config, quality: { ...config.quality, gate: 'off' as const }, training: { ...config.training, driftPsi: 0.01 } };
    await withWorker(low, async (client) => {
      const stable = await daily(client, '2025-02-02');
      expect(stable.drift).to.deep.include({ status: 'stable', reasons: [] });
      expect(stable.drift?.figures).to.deep.include({ psiTracks: 0, psiGenres: 0 });
      // Nothing merged since: the check's outcome stands, and no snapshot of today's listens is taken.
      const snapshots = await (await db()).collection('training_snapshots').countDocuments();
      const champion = (await aliases(await db())).get('champion')?.model_key;
      const check = await (await db()).collection('drift_checks').findOne({ _id: champion as never });
      expect(check?.outcome).to.deep.include({ drifted: false, psiTracks: 0 });
      const again = await daily(client, '2025-02-02');
      expect(again.drift).to.deep.equal(stable.drift);
      expect(await (await db()).collection('training_snapshots').countDocuments()).to.equal(snapshots);
      expect(await (await db()).collection('drift_checks').findOne({ _id: champion as never }), 'not measured again').to.deep.equal(check);
      sim.mutate({ updated: 30, deleted: 10, added: 20 });
      const drifted = await daily(client, '2025-02-03');
      expect(drifted.drift?.status).to.equal('drifted');
      expect(drifted.drift?.reasons[0]).to.match(/^listens over tracks shifted: PSI \d\.\d{3} > 0\.01$/);
      expect(drifted.drift?.retrainWorkflowId).to.equal('daily-2025-02-03/retrain');
      const record = await (await db()).collection('pipeline_runs').findOne({ _id: 'daily-2025-02-03' as never });
      expect(record?.drift).to.deep.include({ status: 'drifted', retrainWorkflowId: 'daily-2025-02-03/retrain' });
      // The retraining outlives the daily run: wait for it.
      const r = await client.workflow.getHandle<typeof retrain>('daily-2025-02-03/retrain').result();
      expect(r.trigger).to.equal('drift');
      expect(r.snapshotId).to.not.equal(first.snapshotId);
      const decision = await (await db()).collection<DecisionDocument>(DECISIONS).findOne({ workflow_id: 'daily-2025-02-03/retrain' });
      expect(decision?.trigger).to.match(/^drift: listens over tracks shifted/);
    });
  });
});
