import { fitAlsOn } from './als.js';
import { assertEaseFits, easeRefusal, fitEaseOn } from './ease.js';
import { resolveFamilyParams, type FamilyParams } from './familyParams.js';
import type { Interactions } from './interactions.js';
import { fitItemKnnOn, type ItemSimilarity } from './itemKnn.js';
import { fitMostPopular } from './mostPopular.js';
import { fitRp3betaOn } from './rp3beta.js';
import { openRunner } from './training/runner.js';
import { defaultTrainingMemoryMb } from './trainingMemory.js';
import type { RecommenderModel } from './types.js';
import type { ModelFamily } from '../contracts/names.js';

export { DEFAULT_PARAMS, parseFamilyParams, parseGivenParams, resolveFamilyParams, type FamilyParams } from './familyParams.js';
export { defaultTrainingMemoryMb } from './trainingMemory.js';

/** How a fit runs: the seed of every random choice, and the threads it may use. */
export interface FitOptions {
  /** The same data, parameters and seed give the same model. */
  seed: number;
  /** Worker threads for training (0: one per core). The model does not depend on it. */
  threads: number;
  /** Memory a fit may take, in MB (EASE's catalogue limit follows from it); default: half the machine's. */
  memoryMb?: number;
  /** The share of a long fit done, from 0 to 1 (ALS after each iteration, EASE after each block of pivots). */
  onProgress?: (done: number) => void;
}

/** Below this many listens a fit runs on the calling thread: starting threads would cost more than it saves. */
export const THREADS_FROM_LISTENS = 20_000;
/** EASE's cost is the catalogue's cube, whatever the listens. */
const EASE_THREADS_FROM_ITEMS = 256;

/**
 * Why a family cannot run on a catalogue of nItems by its own documented limit (EASE's
 * memory, or its maxItems), or undefined if it can. Callers report such a family as skipped, with this
 * reason, rather than failed: the data is fine, the family is not made for it.
 */
export function familyRefusal(family: ModelFamily, params: FamilyParams, nItems: number, memoryMb = defaultTrainingMemoryMb()): string | undefined {
  if (family !== 'ease') return undefined;
  return easeRefusal(nItems, resolveFamilyParams(family, params).maxItems as number, memoryMb);
}

/**
 * One entry point for every family, so training, evaluation and the CLI treat them the
 * same way. Unknown parameters are refused, missing ones take the family's defaults; the
 * model stores the complete set (see resolveFamilyParams), plus the seed for ALS.
 */
export async function fitModel(
  family: ModelFamily,
  m: Interactions,
  itemIds: Float64Array,
  params: FamilyParams,
  options: FitOptions,
): Promise<RecommenderModel> {
  const p = resolveFamilyParams(family, params);
  if (itemIds.length !== m.nItems) throw new Error(`fitModel: ${itemIds.length} item ids for ${m.nItems} items`);
  if (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0xffffffff)
    throw new Error(`fitModel: the seed must be a whole number from 0 to 2^32-1, got ${options.seed}`);
  if (family === 'most-popular') return fitMostPopular(m, itemIds);
  // Refused before any thread starts.
  const memoryMb = options.memoryMb ?? defaultTrainingMemoryMb();
  if (family === 'ease') assertEaseFits(m.nItems, p.maxItems as number, memoryMb);
  const worthThreads = m.items.length >= THREADS_FROM_LISTENS || (family === 'ease' && m.nItems >= EASE_THREADS_FROM_ITEMS);
  const runner = openRunner(options.threads, worthThreads);
  try {
    switch (family) {
      case 'item-knn':
        return await fitItemKnnOn(runner, m, itemIds, {
          neighbors: p.neighbors as number,
          similarity: p.similarity as ItemSimilarity,
          k1: p.k1 as number | undefined,
          b: p.b as number | undefined,
        });
      case 'rp3beta':
        return await fitRp3betaOn(runner, m, itemIds, { neighbors: p.neighbors as number, alpha: p.alpha as number, beta: p.beta as number });
      case 'als':
        return await fitAlsOn(
          runner,
          m,
          itemIds,
          {
            factors: p.factors as number,
            iterations: p.iterations as number,
            regularization: p.regularization as number,
            alpha: p.alpha as number,
            cgSteps: p.cgSteps as number,
          },
          options.seed,
          options.onProgress,
        );
      case 'ease':
        return await fitEaseOn(runner, m, itemIds, { lambda: p.lambda as number, maxItems: p.maxItems as number }, memoryMb, options.onProgress);
    }
  } finally {
    await runner.close();
  }
}
