import type { Decision, ScoredModel } from '../contracts/training.js';

/** Every retraining decision, with what it compared and why: one document per run. */
export const DECISIONS = 'model_decisions';

export interface DecisionDocument {
  /** The retraining run: `<workflow id>@<first run id>` (a workflow id may be reused later). */
  _id: string;
  workflow_id: string;
  at: Date;
  /** schedule, manual or drift (with its reasons). */
  trigger: string;
  snapshot_id: string;
  seed: number;
  rules: { min_uplift: number; min_coverage: number };
  champion: ScoredModel | null;
  baseline: ScoredModel;
  candidates: ScoredModel[];
  skipped: { family: string; reason: string }[];
  decision: Decision;
}
