import type { Tuning } from '../../models/evaluation/tune.js';

/** How a candidate's setting was chosen, as its lineage and the decision keep it. */
export interface TuningRecord {
  chosen: Record<string, number | string>;
  validation_ndcg10: number;
  /** Every setting tried with its validation ndcg@10, in the order tried. */
  tried: { params: Record<string, number | string>; validation_ndcg10: number }[];
  untried: number;
  validation_users: number;
}

export function tuningRecord(t: Tuning): TuningRecord {
  return {
    chosen: t.chosen,
    validation_ndcg10: t.validationNdcg,
    tried: t.tried.map((s) => ({ params: s.params, validation_ndcg10: s.validationNdcg })),
    untried: t.untried,
    validation_users: t.validationUsers,
  };
}
