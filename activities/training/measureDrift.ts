import type { Db } from 'mongodb';
import { dataVersion } from '../ingest/dataVersion.js';
import { aliasRef, loadModel, MODEL_VERSIONS, type ModelVersionDocument } from '../../stores/modelRegistry.js';
import { driftReasons, psi, trackBins } from './drift.js';
import { cannotRemap, evaluateOnSplit, splitSnapshot } from './evaluation.js';
import { heartbeating } from './heartbeating.js';
import type { TrainingSettings } from '../../config/trainingSettings.js';
import { loadSnapshot, pruneSnapshots, takeSnapshot, type Snapshot } from './snapshot.js';
import type { DriftFigures } from '../../contracts/training.js';
import type { DriftOutcome } from '../../contracts/training.js';
import { driftChecksCollection } from '../../stores/driftChecks.js';
import { snapshotsCollection } from '../../stores/snapshots.js';

/** Test users the champion is scored on in a drift check: a daily check must stay cheap. */
const DRIFT_EVAL_USERS = 5000;

/**
 * Compares today's live listens with the champion's training snapshot: PSI of listens
 * over tracks and over genres, and the champion's NDCG@10 on today's data against the one
 * it was registered with. Nothing to compare without a champion trained here. When no
 * merge wrote anything since the last check of the same champion (ingest/dataVersion.ts),
 * that check's outcome stands, and today's listens are not read again.
 */
export async function measureDrift(db: Db, settings: TrainingSettings, beat: (stage: string, read: number) => void): Promise<DriftOutcome> {
  const none = {
    psiTracks: 0,
    psiGenres: 0,
    championNdcgThen: null,
    championNdcgNow: null,
    drifted: false,
    reasons: [],
    snapshotId: null,
    referenceSnapshotId: null,
  };
  const ref = await aliasRef(db, 'champion');
  if (!ref) return { ...none, skipped: 'there is no champion yet', champion: null };
  const version = await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: ref.key });
  const referenceId = version?.lineage.snapshot_id;
  if (!version || !referenceId) return { ...none, skipped: `champion ${ref.key} was not trained on a snapshot (registered by hand)`, champion: ref.key };
  const referenceDoc = await snapshotsCollection(db).findOne({ _id: referenceId });
  if (!referenceDoc) return { ...none, skipped: `the champion's snapshot ${referenceId} is gone`, champion: ref.key, referenceSnapshotId: referenceId };

  // Nothing merged since the last check of this champion with these thresholds: the same data gives the same answer.
  const data = await dataVersion(db);
  const basis = `${data}|psi ${settings.driftPsi}|drop ${settings.driftMetricDrop}|users ${settings.evalMaxUsers}`;
  const checks = driftChecksCollection(db);
  const last = data === null ? null : await checks.findOne({ _id: ref.key });
  if (last && last.basis === basis) return last.outcome;

  const todayDoc = await takeSnapshot(db, beat);
  const [today, reference] = [await loadSnapshot(db, todayDoc._id), await loadSnapshot(db, referenceId)];
  const bins = trackBins(listensPerTrack(reference), listensPerTrack(today));
  beat('champion', 0);
  const split = splitSnapshot(today, version.lineage.seed ?? 1, Math.min(settings.evalMaxUsers, DRIFT_EVAL_USERS));
  const model = await loadModel(db, ref.key);
  const unfit = cannotRemap(model, today.itemIds.length);
  const now = unfit ? null : await heartbeating('champion', () => evaluateOnSplit(model, split, settings.threads, today.itemIds));
  const figures: DriftFigures = {
    psiTracks: psi(bins.reference, bins.current),
    psiGenres: psi(referenceDoc.genre_shares, todayDoc.genre_shares),
    championNdcgThen: version.metrics['ndcg@10'] ?? null,
    championNdcgNow: now?.['ndcg@10'] ?? null,
  };
  const reasons = driftReasons(figures, { psi: settings.driftPsi, metricDrop: settings.driftMetricDrop });
  await pruneSnapshots(db, settings.keepSnapshots);
  const outcome: DriftOutcome = {
    ...figures,
    drifted: reasons.length > 0,
    reasons,
    skipped: null,
    champion: ref.key,
    snapshotId: todayDoc._id,
    referenceSnapshotId: referenceId,
  };
  if (data !== null) await checks.replaceOne({ _id: ref.key }, { basis, outcome, checked_at: new Date() }, { upsert: true });
  return outcome;
}

function listensPerTrack(s: Snapshot): Map<number, number> {
  const counts = new Map<number, number>();
  const items = s.interactions.items;
  for (let k = 0; k < items.length; k++) {
    const id = s.itemIds[items[k] as number] as number;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
