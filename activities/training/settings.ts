import { availableParallelism } from 'node:os';
import { MODEL_FAMILIES, type ModelFamily } from '../../models/types.js';

/** How models are trained, compared and promoted; from the environment (see the README). */
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
}

export function defaultTrainingSettings(): TrainingSettings {
  return {
    families: ['item-knn', 'als', 'ease'],
    params: {},
    minUplift: 0.02,
    minCoverage: 0.05,
    driftPsi: 0.2,
    driftMetricDrop: 0.1,
    evalMaxUsers: 10_000,
    threads: Math.max(1, availableParallelism()),
    keepSnapshots: 3,
  };
}

type Env = Record<string, string | undefined>;

/** Reads the settings; every problem is reported by variable name. */
export function trainingSettingsFromEnv(env: Env): { settings: TrainingSettings; problems: string[] } {
  const settings = defaultTrainingSettings();
  const problems: string[] = [];
  const raw = (name: string) => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const fraction = (name: string, fallback: number, max: number): number => {
    const value = raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d*\.?\d+$/.test(value) || n > max) {
      problems.push(`${name} must be a number from 0 to ${max} (got ${JSON.stringify(value)})`);
      return fallback;
    }
    return n;
  };
  const whole = (name: string, fallback: number, min: number, max: number): number => {
    const value = raw(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
      return fallback;
    }
    return n;
  };
  const families = raw('MOOVITAMIX_RETRAIN_FAMILIES');
  if (families !== undefined) {
    const list = families.split(',').map((f) => f.trim());
    const unknown = list.filter((f) => !(MODEL_FAMILIES as readonly string[]).includes(f));
    if (unknown.length > 0 || list.length === 0) problems.push(`MOOVITAMIX_RETRAIN_FAMILIES must list families among ${MODEL_FAMILIES.join(', ')} (got ${JSON.stringify(families)})`);
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
  settings.minUplift = fraction('MOOVITAMIX_PROMOTE_MIN_UPLIFT', settings.minUplift, 10);
  settings.minCoverage = fraction('MOOVITAMIX_PROMOTE_MIN_COVERAGE', settings.minCoverage, 1);
  settings.driftPsi = fraction('MOOVITAMIX_DRIFT_PSI', settings.driftPsi, 100);
  settings.driftMetricDrop = fraction('MOOVITAMIX_DRIFT_METRIC_DROP', settings.driftMetricDrop, 1);
  settings.evalMaxUsers = whole('MOOVITAMIX_EVAL_MAX_USERS', settings.evalMaxUsers, 10, 10_000_000);
  settings.threads = whole('MOOVITAMIX_TRAINING_THREADS', 0, 0, 256) || settings.threads;
  settings.keepSnapshots = whole('MOOVITAMIX_KEEP_SNAPSHOTS', settings.keepSnapshots, 1, 1000);
  return { settings, problems };
}

/** `family.name=value` items into per-family raw parameters. */
export function parseParamList(items: string[]): Partial<Record<ModelFamily, Record<string, string>>> {
  const out: Partial<Record<ModelFamily, Record<string, string>>> = {};
  for (const item of items.map((i) => i.trim()).filter(Boolean)) {
    const m = /^([a-z-]+)\.([A-Za-z0-9]+)=([A-Za-z0-9.+-]+)$/.exec(item);
    if (!m) throw new Error(`"${item}" is not family.name=value`);
    const [, family, name, value] = m as unknown as [string, string, string, string];
    if (!(MODEL_FAMILIES as readonly string[]).includes(family)) throw new Error(`"${item}": unknown family ${family} (families: ${MODEL_FAMILIES.join(', ')})`);
    (out[family as ModelFamily] ??= {})[name] = value;
  }
  return out;
}
