import { DEFAULT_ALS } from './als.js';
import { DEFAULT_EASE } from './ease.js';
import { DEFAULT_ITEM_KNN, ITEM_SIMILARITIES } from './itemKnn.js';
import { DEFAULT_RP3BETA } from './rp3beta.js';
import { MODEL_FAMILIES, type ModelFamily } from '../contracts/names.js';

export type FamilyParams = Record<string, number | string>;

/** The parameters of each family with their defaults: what a fit uses when none is given. */
export const DEFAULT_PARAMS: Readonly<Record<ModelFamily, Readonly<FamilyParams>>> = {
  'most-popular': {},
  'item-knn': { ...DEFAULT_ITEM_KNN },
  rp3beta: { ...DEFAULT_RP3BETA },
  als: { ...DEFAULT_ALS },
  ease: { ...DEFAULT_EASE },
};

type Spec =
  | { type: 'integer'; min: number; max: number }
  | { type: 'number'; min: number; max: number; aboveMin?: boolean }
  | { type: 'choice'; values: readonly string[] };

const SPECS: Record<ModelFamily, Record<string, Spec>> = {
  'most-popular': {},
  'item-knn': {
    // Real catalogues keep gaining up to K in the thousands (2,000 was the best tried on the
    // development data); 5,000 x 30,000 tracks is 1.2 GB of neighbour rows.
    neighbors: { type: 'integer', min: 1, max: 5000 },
    similarity: { type: 'choice', values: ITEM_SIMILARITIES },
    k1: { type: 'number', min: 0, max: 1000 },
    b: { type: 'number', min: 0, max: 1 },
  },
  rp3beta: {
    neighbors: { type: 'integer', min: 1, max: 5000 },
    alpha: { type: 'number', min: 0, max: 10 },
    beta: { type: 'number', min: 0, max: 2 },
  },
  als: {
    factors: { type: 'integer', min: 1, max: 1024 },
    iterations: { type: 'integer', min: 1, max: 1000 },
    // λ > 0 keeps every row's system positive definite, which conjugate gradient needs.
    regularization: { type: 'number', min: 0, max: 1e6, aboveMin: true },
    alpha: { type: 'number', min: 0, max: 1e6 },
    cgSteps: { type: 'integer', min: 1, max: 1024 },
  },
  ease: {
    lambda: { type: 'number', min: 0, max: 1e9, aboveMin: true },
    // 0: the training memory budget alone decides (ease.ts).
    maxItems: { type: 'integer', min: 0, max: 1_000_000 },
  },
};

/** Parameters only BM25 similarity reads. */
const BM25_ONLY = ['k1', 'b'];

/**
 * Parameters from text (a CLI's `name=value` pairs): validated and completed with the
 * family's defaults. Throws, naming the parameter and what it accepts, on an unknown name,
 * a malformed value or one out of range.
 */
export function parseFamilyParams(family: ModelFamily, raw: Record<string, string>): FamilyParams {
  return resolveFamilyParams(family, raw);
}

/** parseFamilyParams, keeping only the parameters given: what tuning holds while it searches the others. */
export function parseGivenParams(family: ModelFamily, raw: Record<string, string>): FamilyParams {
  const resolved = resolveFamilyParams(family, raw);
  return Object.fromEntries(Object.keys(raw).map((name) => [name, resolved[name] as number | string]));
}

/**
 * The complete parameter set a fit uses and the model stores: given values validated
 * (numbers may also be given as text), the others the family's defaults. item-knn with
 * cosine similarity has no k1 nor b.
 */
export function resolveFamilyParams(family: ModelFamily, given: Readonly<Record<string, number | string>>): FamilyParams {
  if (!MODEL_FAMILIES.includes(family)) throw new Error(`unknown model family "${String(family)}" (known: ${MODEL_FAMILIES.join(', ')})`);
  const specs = SPECS[family];
  const known = Object.keys(specs);
  for (const name of Object.keys(given)) {
    if (name in specs) continue;
    if (name === 'seed') throw new Error(`seed is not a ${family} parameter: it is an option of the fit (the same seed gives the same model)`);
    throw new Error(known.length === 0 ? `${family} takes no parameters, got "${name}"` : `unknown ${family} parameter "${name}" (known: ${known.join(', ')})`);
  }
  const resolved: FamilyParams = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = given[name];
    resolved[name] = value === undefined ? (DEFAULT_PARAMS[family][name] as number | string) : checked(family, name, spec, value);
  }
  if (family === 'item-knn' && resolved.similarity === 'cosine') {
    const bm25Given = BM25_ONLY.filter((name) => given[name] !== undefined);
    if (bm25Given.length > 0)
      throw new Error(`item-knn parameter ${bm25Given.join(' and ')} applies to similarity=bm25 or bm25-user only (similarity is cosine)`);
    for (const name of BM25_ONLY) delete resolved[name];
  }
  return resolved;
}

function checked(family: ModelFamily, name: string, spec: Spec, value: number | string): number | string {
  const what = `${family} parameter ${name}`;
  if (spec.type === 'choice') {
    if (typeof value !== 'string' || !spec.values.includes(value))
      throw new Error(`${what} must be one of ${spec.values.join(', ')}, got ${JSON.stringify(value)}`);
    return value;
  }
  const number = typeof value === 'number' ? value : /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value) ? Number(value) : Number.NaN;
  const range = `${spec.type === 'number' && spec.aboveMin ? `above ${spec.min}` : `from ${spec.min}`} to ${spec.max}`;
  if (!Number.isFinite(number)) throw new Error(`${what} must be a number ${range}, got ${JSON.stringify(value)}`);
  if (spec.type === 'integer' && !Number.isInteger(number)) throw new Error(`${what} must be a whole number ${range}, got ${JSON.stringify(value)}`);
  const low = spec.type === 'number' && spec.aboveMin ? number <= spec.min : number < spec.min;
  if (low || number > spec.max) throw new Error(`${what} must be ${range}, got ${number}`);
  return number;
}
