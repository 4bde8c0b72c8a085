import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { tuneFamily } from '../../models/evaluation/tune.js';
import { tuningRecord } from './tuningRecord.js';
import { familyRefusal, fitModel, parseGivenParams } from '../../models/families.js';
import { codeVersion } from './codeVersion.js';
import { heartbeating } from './heartbeating.js';
import { aliasRef, registerModel, setAlias, MODEL_VERSIONS, loadModel, type ModelVersionDocument } from '../../stores/modelRegistry.js';
import { decidePromotion } from './decide.js';
import { DECISIONS, type DecisionDocument } from '../../stores/decisions.js';
import { measureDrift } from './measureDrift.js';
import { cannotRemap, evaluateOnSplit, scoreOnSplit, splitSnapshot } from './evaluation.js';
import { dropUserScores, pairedUplifts, saveUserScores, type SplitIdentity } from '../../stores/userScores.js';
import type { TrainingSettings } from '../../config/trainingSettings.js';
import { loadSnapshot, pruneSnapshots, takeSnapshot } from './snapshot.js';
import type { ModelFamily } from '../../contracts/names.js';
import type { TuningRecord, Decision, ScoredModel } from '../../contracts/training.js';
import type { TrainCandidateOutcome } from '../../contracts/training.js';
import type { DriftOutcome } from '../../contracts/training.js';

export interface TrainingDeps {
  db: Db;
  settings: TrainingSettings;
  /** Whether the canary serves a share of users from the challenger's batch. */
  canaryEnabled: () => boolean;
}

export interface SnapshotOutcome {
  snapshotId: string;
  users: number;
  tracks: number;
  listens: number;
}

export interface TrainCandidateInput {
  /** The retraining run (`<workflow id>@<first run id>`): with the family, what makes a retried training find its version. */
  runId: string;
  snapshotId: string;
  family: ModelFamily;
  seed: number;
  /** Raw parameters given for this run; the worker's configured ones otherwise. */
  params?: Record<string, string>;
}

export interface ReferenceOutcome {
  baseline: ScoredModel;
  champion: ScoredModel | null;
  /** Why a champion exists but was not scored (an EASE champion on a catalogue grown past its limit). */
  championNote?: string | null;
}

export interface DecideInput {
  /** `<workflow id>@<first run id>`. */
  runId: string;
  workflowId?: string;
  trigger: string;
  snapshotId: string;
  seed: number;
  candidates: ScoredModel[];
  baseline: ScoredModel;
  champion: ScoredModel | null;
  championNote?: string | null;
  skipped: { family: string; reason: string }[];
}

export interface DecideOutcome extends Decision {
  /** A challenger batch should be computed for the canary. */
  canary: boolean;
}

/** Where a retraining's per-user scores are kept: its split, a candidate by its run, the champion by its key. */
const candidateScores = (runId: string, family: string) => `run:${runId}/${family}`;
const championScores = (key: string) => `champion:${key}`;

/** The retraining activities: snapshot, train, evaluate, decide; and the drift check. */
export function createTrainingActivities({ db, settings, canaryEnabled }: TrainingDeps) {
  const splitOf = (input: { snapshotId: string; seed: number }): SplitIdentity => ({
    snapshotId: input.snapshotId,
    seed: input.seed,
    maxUsers: settings.evalMaxUsers,
  });
  const beat = (stage: string, read: number) => Context.current().heartbeat({ stage, read });
  return {
    /** The configured candidate families (the workflow's default). */
    async retrainFamilies(): Promise<ModelFamily[]> {
      return settings.families;
    },

    async snapshotTrainingData(): Promise<SnapshotOutcome> {
      const s = await takeSnapshot(db, beat);
      if (s.users === 0 || s.listens === 0)
        throw ApplicationFailure.nonRetryable(`snapshot ${s._id} holds ${s.users} users and ${s.listens} listens: nothing to train on`, 'NothingToTrain');
      return { snapshotId: s._id, users: s.users, tracks: s.tracks, listens: s.listens };
    },

    async trainCandidate(input: TrainCandidateInput): Promise<TrainCandidateOutcome> {
      const run = `${input.runId}/${input.family}`;
      const done = await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ name: input.family, 'lineage.run': run });
      if (done) {
        const tuning = (done.lineage as { tuning?: TuningRecord }).tuning;
        return {
          status: 'trained',
          key: done._id,
          family: input.family,
          metrics: done.metrics,
          trainMs: done.lineage.train_ms ?? 0,
          ...(tuning ? { tuning } : {}),
        };
      }
      const snapshot = await loadSnapshot(db, input.snapshotId);
      let params;
      try {
        // Only what was given: tuning searches the rest, the defaults fill in without it.
        params = parseGivenParams(input.family, input.params ?? settings.params[input.family] ?? {});
      } catch (err) {
        throw ApplicationFailure.nonRetryable(`${input.family}: ${(err as Error).message}`, 'InvalidParameters');
      }
      const refusal = familyRefusal(input.family, params, snapshot.itemIds.length, settings.memoryMb);
      if (refusal) return { status: 'skipped', family: input.family, reason: refusal };
      beat('split', 0);
      const split = splitSnapshot(snapshot, input.seed, settings.evalMaxUsers);
      const tuning =
        settings.tuneBudgetS > 0
          ? await heartbeating('tune', () =>
              tuneFamily(input.family, split, snapshot.itemIds, params, {
                seed: input.seed,
                threads: settings.threads,
                memoryMb: settings.memoryMb,
                budgetMs: settings.tuneBudgetS * 1000,
              }),
            )
          : undefined;
      const chosen = tuning?.chosen ?? params;
      const tuned = tuning ? { tuning: tuningRecord(tuning) } : {};
      const started = Date.now();
      const model = await heartbeating('fit', () =>
        fitModel(input.family, split.train, snapshot.itemIds, chosen, { seed: input.seed, threads: settings.threads, memoryMb: settings.memoryMb }),
      );
      const trainMs = Date.now() - started;
      const { metrics, perUser } = await heartbeating('evaluate', () => scoreOnSplit(model, split, settings.threads));
      // Before the version: a retry that finds the version finds its scores too.
      await saveUserScores(db, splitOf(input), candidateScores(input.runId, input.family), perUser);
      const version = await registerModel(db, {
        name: input.family,
        model,
        metrics,
        status: 'candidate',
        lineage: { snapshot_id: snapshot.id, split: split.description, seed: input.seed, code_version: codeVersion(), run, train_ms: trainMs, ...tuned },
      });
      log.info('candidate trained', {
        key: version._id,
        trainMs,
        ndcg10: metrics['ndcg@10'],
        ...(tuning ? { validationNdcg10: tuning.validationNdcg, tried: tuning.tried.length } : {}),
      });
      return { status: 'trained', key: version._id, family: input.family, metrics, trainMs, ...tuned };
    },

    /** MostPopular fitted on the same split, and the champion (as served) scored on it. */
    async evaluateReferences(input: { snapshotId: string; seed: number }): Promise<ReferenceOutcome> {
      const snapshot = await loadSnapshot(db, input.snapshotId);
      const split = splitSnapshot(snapshot, input.seed, settings.evalMaxUsers);
      const popular = await fitModel('most-popular', split.train, snapshot.itemIds, {}, { seed: input.seed, threads: settings.threads });
      const baseline = {
        key: 'most-popular (baseline)',
        family: 'most-popular',
        metrics: await heartbeating('baseline', () => evaluateOnSplit(popular, split, settings.threads)),
      };
      const ref = await aliasRef(db, 'champion');
      if (!ref) return { baseline, champion: null, championNote: null };
      const model = await loadModel(db, ref.key);
      const unfit = cannotRemap(model, snapshot.itemIds.length);
      if (unfit) return { baseline, champion: null, championNote: `champion ${ref.key} was not scored: ${unfit}; it is judged as if there were no champion` };
      const { metrics, perUser } = await heartbeating('champion', () => scoreOnSplit(model, split, settings.threads, snapshot.itemIds));
      await saveUserScores(db, splitOf(input), championScores(ref.key), perUser);
      return { baseline, champion: { key: ref.key, family: ref.family, metrics }, championNote: null };
    },

    /**
     * Applies the promotion rule, stores the decision with its reasons and moves the
     * aliases. Idempotent: a retried decision returns the stored one.
     */
    async decideRetraining(input: DecideInput): Promise<DecideOutcome> {
      const decisions = db.collection<DecisionDocument>(DECISIONS);
      const stored = await decisions.findOne({ _id: input.runId });
      if (!stored) {
        // Judged against the champion of a while ago: if another run or a person moved it
        // since, this decision would be about a model no longer serving.
        const now = await aliasRef(db, 'champion');
        const judged = input.champion?.key ?? null;
        if ((now?.key ?? null) !== judged && !input.championNote) {
          throw ApplicationFailure.nonRetryable(
            `the champion moved during this retraining (${judged ?? 'none'} -> ${now?.key ?? 'none'}): nothing decided; retrain again`,
            'ChampionMoved',
          );
        }
      }
      let decision: Decision | undefined = stored?.decision;
      if (!decision) {
        const champion = input.champion;
        const intervals = champion
          ? await pairedUplifts(
              db,
              splitOf(input),
              championScores(champion.key),
              input.candidates.map((c) => ({ key: c.key, scores: candidateScores(input.runId, c.family) })),
            )
          : {};
        decision = decidePromotion(
          { candidates: input.candidates, champion, baseline: input.baseline, intervals },
          { minUplift: settings.minUplift, minCoverage: settings.minCoverage },
        );
      }
      if (!stored) {
        if (input.championNote) decision.summary = `${decision.summary} (${input.championNote})`;
        await decisions.insertOne({
          _id: input.runId,
          workflow_id: input.workflowId ?? input.runId,
          at: new Date(),
          trigger: input.trigger,
          snapshot_id: input.snapshotId,
          seed: input.seed,
          rules: { min_uplift: settings.minUplift, min_coverage: settings.minCoverage },
          champion: input.champion,
          baseline: input.baseline,
          candidates: input.candidates,
          skipped: input.skipped,
          decision,
        });
      }
      // Aliases and statuses after the record: a retry finds the record and completes these.
      if (decision.promoted) await setAlias(db, 'champion', decision.promoted, `retraining ${input.workflowId ?? input.runId}: ${decision.summary}`);
      if (decision.challenger)
        await setAlias(db, 'challenger', decision.challenger, `retraining ${input.workflowId ?? input.runId}: best candidate, short of the uplift`);
      const versions = db.collection<ModelVersionDocument>(MODEL_VERSIONS);
      for (const v of decision.verdicts) {
        if (v.key !== decision.promoted && v.key !== decision.challenger)
          await versions.updateOne({ _id: v.key, status: 'candidate' }, { $set: { status: 'rejected' } });
      }
      await dropUserScores(db, await pruneSnapshots(db, settings.keepSnapshots));
      return { ...decision, canary: decision.challenger !== null && canaryEnabled() };
    },

    async checkDrift(): Promise<DriftOutcome> {
      return measureDrift(db, settings, beat);
    },
  };
}
