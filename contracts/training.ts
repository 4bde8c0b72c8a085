import type { ModelFamily } from './names.js';
// What a retraining decides and on what: scored models, the verdict on each candidate, the decision.

export interface PairedInterval {
  /** Mean of a − b over the users. */
  mean: number;
  /** The interval's bounds: percentiles of the resampled means. */
  low: number;
  high: number;
  /** 0.95: a 95 % interval. */
  level: number;
  resamples: number;
  users: number;
}

/** How a candidate's setting was chosen, as its lineage and the decision keep it. */
export interface TuningRecord {
  chosen: Record<string, number | string>;
  validation_ndcg10: number;
  /** Every setting tried with its validation ndcg@10, in the order tried. */
  tried: { params: Record<string, number | string>; validation_ndcg10: number }[];
  untried: number;
  validation_users: number;
}

export interface ScoredModel {
  key: string;
  family: string;
  metrics: Record<string, number>;
  /** How its setting was chosen, when it was tuned: kept with the decision. */
  tuning?: TuningRecord;
}

export interface Verdict {
  key: string;
  passed: boolean;
  /** Every rule, as a sentence. */
  reasons: string[];
  /** The rules it failed (empty when it passed). */
  failed: string[];
  /** The paired bootstrap of its NDCG@10 minus the champion's, when both have per-user scores on the split. */
  interval?: PairedInterval;
}

export interface Decision {
  /** The candidate promoted to champion, or null. */
  promoted: string | null;
  /** The best candidate that beat MostPopular and the champion, and kept coverage, but missed the uplift: the canary's challenger. */
  challenger: string | null;
  /** One line for the memo and the CLI. */
  summary: string;
  verdicts: Verdict[];
}

export type TrainCandidateOutcome =
  | { status: 'trained'; key: string; family: ModelFamily; metrics: Record<string, number>; trainMs: number; tuning?: TuningRecord }
  | { status: 'skipped'; family: ModelFamily; reason: string };

export interface DriftFigures {
  psiTracks: number;
  psiGenres: number;
  /** The champion's NDCG@10 when it was trained, and on today's snapshot (null: not measured). */
  championNdcgThen: number | null;
  championNdcgNow: number | null;
}

export interface DriftOutcome extends DriftFigures {
  drifted: boolean;
  /** The thresholds crossed, as sentences. */
  reasons: string[];
  /** Why nothing was measured (no champion yet, ...), else null. */
  skipped: string | null;
  champion: string | null;
  /** Today's snapshot, and the one the champion was trained on. */
  snapshotId: string | null;
  referenceSnapshotId: string | null;
}
