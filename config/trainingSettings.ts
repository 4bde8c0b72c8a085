import { MODEL_FAMILIES, type ModelFamily } from '../contracts/names.js';

/** How models are trained, compared and promoted; from the environment (see docs/configuration.md). */
export interface TrainingSettings {
  /** The candidate families a retraining trains (MostPopular is always scored as the baseline). */
  families: ModelFamily[];
  /** Hyper-parameters per family, as given (`als.factors=64`); validated by the family. */
  params: Partial<Record<ModelFamily, Record<string, string>>>;
  /** A candidate must beat the champion's NDCG@10 by this much, relative (0.02 = 2 %). */
  minUplift: number;
  /** ... and keep catalogue coverage@20 at or above this. */
  minCoverage: number;
  /** PSI past which listens over tracks or genres have drifted. */
  driftPsi: number;
  /** Relative drop of the champion's NDCG@10 on new data past which it has drifted. */
  driftMetricDrop: number;
  /** Test users evaluated per split (a seeded sample when more qualify). */
  evalMaxUsers: number;
  /** Training threads per worker (one per core when 0 is given). */
  threads: number;
  /** Snapshots kept besides those a registered model was trained on. */
  keepSnapshots: number;
  /**
   * Seconds each candidate family may spend tuning (models/evaluation/tune.ts) before its
   * chosen setting is fitted; 0: no tuning, the configured parameters as they are.
   */
  tuneBudgetS: number;
  /** Memory a fit may take, in MB: EASE refuses a catalogue past what it holds. */
  memoryMb: number;
}

/** The candidates a retraining trains unless MOOVITAMIX_RETRAIN_FAMILIES says otherwise. */
export const DEFAULT_FAMILIES: readonly ModelFamily[] = ['item-knn', 'rp3beta', 'als', 'ease'];

/**
 * The candidates from the environment: MOOVITAMIX_RETRAIN_FAMILIES and
 * MOOVITAMIX_RETRAIN_PARAMS (the numeric settings are read with the others, in
 * config/config.ts). Every problem is reported by variable name.
 */
export function trainingCandidatesFromEnv(env: Record<string, string | undefined>): {
  settings: Pick<TrainingSettings, 'families' | 'params'>;
  problems: string[];
} {
  const settings: Pick<TrainingSettings, 'families' | 'params'> = { families: [...DEFAULT_FAMILIES], params: {} };
  const problems: string[] = [];
  const raw = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const families = raw('MOOVITAMIX_RETRAIN_FAMILIES');
  if (families !== undefined) {
    const list = families.split(',').map((f) => f.trim());
    const unknown = list.filter((f) => !(MODEL_FAMILIES as readonly string[]).includes(f));
    if (unknown.length > 0 || list.length === 0)
      problems.push(`MOOVITAMIX_RETRAIN_FAMILIES must list families among ${MODEL_FAMILIES.join(', ')} (got ${JSON.stringify(families)})`);
    else settings.families = [...new Set(list)] as ModelFamily[];
  }
  const params = raw('MOOVITAMIX_RETRAIN_PARAMS');
  if (params !== undefined) {
    try {
      settings.params = parseParamList(params.split(','));
    } catch (err) {
      problems.push(`MOOVITAMIX_RETRAIN_PARAMS: ${(err as Error).message}`);
    }
  }
  return { settings, problems };
}

/** `family.name=value` items into per-family raw parameters. */
export function parseParamList(items: string[]): Partial<Record<ModelFamily, Record<string, string>>> {
  const out: Partial<Record<ModelFamily, Record<string, string>>> = {};
  for (const item of items.map((i) => i.trim()).filter(Boolean)) {
    const m = /^([a-z-]+)\.([A-Za-z0-9]+)=([A-Za-z0-9.+-]+)$/.exec(item);
    if (!m) throw new Error(`"${item}" is not family.name=value`);
    const [, family, name, value] = m as unknown as [string, string, string, string];
    if (!(MODEL_FAMILIES as readonly string[]).includes(family))
      throw new Error(`"${item}": unknown family ${family} (families: ${MODEL_FAMILIES.join(', ')})`);
    (out[family as ModelFamily] ??= {})[name] = value;
  }
  return out;
}
