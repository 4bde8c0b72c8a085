import type { Tuning } from '../../models/evaluation/tune.js';
import type { TuningRecord } from '../../contracts/training.js';

export function tuningRecord(t: Tuning): TuningRecord {
  return {
    chosen: t.chosen,
    validation_ndcg10: t.validationNdcg,
    tried: t.tried.map((s) => ({ params: s.params, validation_ndcg10: s.validationNdcg })),
    untried: t.untried,
    validation_users: t.validationUsers,
  };
}
