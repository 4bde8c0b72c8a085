import { fitModel, resolveFamilyParams, type FamilyParams } from '../families.js';
import { seededRandom } from '../seededRandom.js';
import { evaluateModel } from './evaluate.js';
import { leaveLastOut, type Split } from './split.js';
import type { ModelFamily } from '../../contracts/names.js';

/**
 * The settings tuning tries per family (docs/models.md): a small grid around what worked on
 * real data (the development data's validation-tuned peers) and the family's defaults.
 * Parameters a caller fixes are taken out of the search.
 */
export const TUNING_GRIDS: Readonly<Record<ModelFamily, Readonly<Record<string, readonly (number | string)[]>>>> = {
  'most-popular': {},
  'item-knn': { similarity: ['cosine', 'bm25', 'bm25-user'], neighbors: [50, 200, 1000] },
  rp3beta: { neighbors: [100, 200], alpha: [0.5, 1], beta: [0.2, 0.3, 0.5, 0.7] },
  als: { factors: [64, 128], regularization: [0.01, 0.1, 1], alpha: [0, 9, 39] },
  ease: { lambda: [100, 500, 2000] },
};

/** Seconds of tuning per family when the caller gives no budget. */
export const DEFAULT_TUNE_BUDGET_S = 600;

export interface TriedSetting {
  params: FamilyParams;
  /** ndcg@10 on the validation items. */
  validationNdcg: number;
  fitMs: number;
  evalMs: number;
}

export interface Tuning {
  /** The setting with the best validation ndcg@10 (ties: the one tried first). */
  chosen: FamilyParams;
  validationNdcg: number;
  /** Every setting tried, in the order tried (the family's defaults first). */
  tried: TriedSetting[];
  /** Settings of the grid left untried when the budget ran out. */
  untried: number;
  /** The validation split: users evaluated and the listens it trained on. */
  validationUsers: number;
  validationTrainListens: number;
}

export interface TuneOptions {
  seed: number;
  threads: number;
  /** The training memory budget each fit gets (FitOptions.memoryMb). */
  memoryMb?: number;
  /** Wall time for the search; the family's defaults are always tried, the rest while time is left. */
  budgetMs: number;
  onProgress?: (message: string) => void;
}

/**
 * A long fit's progress as messages, every tenth of it once it has run 30 s (a short fit
 * says nothing): `fitting: 40 % after 620 s, about 930 s to go`.
 */
export function fitProgress(say: (message: string) => void, quietS = 30): (done: number) => void {
  const started = performance.now();
  let said = 0;
  return (done) => {
    const tenth = Math.floor(done * 10);
    const elapsedS = (performance.now() - started) / 1000;
    if (tenth <= said || tenth >= 10 || elapsedS < quietS) return;
    said = tenth;
    say(`fitting: ${tenth * 10} % after ${Math.round(elapsedS)} s, about ${Math.round((elapsedS / done) * (1 - done))} s to go`);
  };
}

/**
 * Every setting of the family's grid (with `fixed` parameters held), the family's defaults
 * first, then the rest in an order drawn from the seed: a budget that runs out part way
 * leaves a random part of the grid untried, not always its last rows.
 */
export function tuningGrid(family: ModelFamily, fixed: FamilyParams, seed: number): FamilyParams[] {
  const defaults = resolveFamilyParams(family, fixed);
  const axes = Object.entries(TUNING_GRIDS[family]).filter(([name]) => fixed[name] === undefined);
  let settings: FamilyParams[] = [{ ...fixed }];
  for (const [name, values] of axes) settings = settings.flatMap((s) => values.map((v) => ({ ...s, [name]: v })));
  const key = (p: FamilyParams) => JSON.stringify(resolveFamilyParams(family, p));
  const unique = new Map(settings.map((s) => [key(s), s]));
  unique.delete(key(defaults));
  const rest = [...unique.values()];
  const random = seededRandom(seed);
  for (let i = rest.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rest[i], rest[j]] = [rest[j] as FamilyParams, rest[i] as FamilyParams];
  }
  return [{ ...fixed }, ...rest];
}

/**
 * Honest tuning: each setting is fitted on the training part without a validation item per
 * user (each user's last training listen, carved as leave-last-out carves the test item)
 * and scored on those items only. The test part is never seen: the caller refits the
 * chosen setting on the whole training part and scores it once on the test items.
 */
export async function tuneFamily(family: ModelFamily, split: Split, itemIds: Float64Array, fixed: FamilyParams, options: TuneOptions): Promise<Tuning> {
  const validation = leaveLastOut(split.train, { seed: options.seed, maxUsers: split.maxUsers });
  const grid = tuningGrid(family, fixed, options.seed);
  const started = performance.now();
  const tried: TriedSetting[] = [];
  for (const params of grid) {
    if (tried.length > 0 && performance.now() - started >= options.budgetMs) break;
    const fitting = performance.now();
    const model = await fitModel(family, validation.train, itemIds, params, {
      seed: options.seed,
      threads: options.threads,
      ...(options.memoryMb ? { memoryMb: options.memoryMb } : {}),
      ...(options.onProgress ? { onProgress: fitProgress(options.onProgress) } : {}),
    });
    const fitMs = Math.round(performance.now() - fitting);
    const evaluating = performance.now();
    const metrics = await evaluateModel(model, validation, options.threads > 0 ? { threads: options.threads } : {});
    const setting = { params: model.params, validationNdcg: metrics['ndcg@10'], fitMs, evalMs: Math.round(performance.now() - evaluating) };
    tried.push(setting);
    options.onProgress?.(`tuning ${tried.length}/${grid.length}: validation ndcg@10 ${setting.validationNdcg.toFixed(4)} with ${describe(setting.params)}`);
  }
  const best = tried.reduce((a, b) => (b.validationNdcg > a.validationNdcg ? b : a));
  // The seed is an option of the fit, not a parameter: the chosen setting is refitted with it.
  const { seed: _seed, ...chosen } = best.params;
  return {
    chosen,
    validationNdcg: best.validationNdcg,
    tried,
    untried: grid.length - tried.length,
    validationUsers: validation.testUsers.length,
    validationTrainListens: validation.trainListens,
  };
}

function describe(params: FamilyParams): string {
  const text = Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return text === '' ? '(no parameters)' : text;
}
