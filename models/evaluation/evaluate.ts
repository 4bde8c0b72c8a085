import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScoringPool } from '../scoringPool.js';
import { defaultTrainingMemoryMb, familyRefusal, resolveFamilyParams, type FamilyParams } from '../families.js';
import { itemPopularity } from '../interactions.js';
import { Scorer, type ScoredChunk, type ScoringContext } from '../score.js';
import type { ModelFamily, RecommenderModel } from '../types.js';
import type { FamilyJob, FamilyMessage } from './familyProcess.js';
import { DEEPEST_CUTOFF, computeMetrics, type Metrics } from './metrics.js';
import type { Split } from './split.js';
import { writeSplitFile } from './splitFile.js';
import type { Tuning } from './tune.js';

/** Recommendations ranked per test user: the deepest cutoff. */
export const EVALUATION_K = DEEPEST_CUTOFF;
/** Test users per scoring task. */
const CHUNK_USERS = 1_000;
/** Below this many test users, thread start-up costs more than it saves. */
const PARALLEL_FROM = 2 * CHUNK_USERS;

export interface EvaluateOptions {
  /** Scoring threads (default: one per core); 1 scores in this thread. */
  threads?: number;
  /** Receives each test user's ndcg@10, in the order of `split.testUsers`. */
  perUserNdcg?: Float64Array;
}

/**
 * Ranks each test user's top EVALUATION_K through the production Scorer (the whole
 * catalogue live, no genres, their training listens excluded) and measures the lists
 * against their holdout. The model must have been fitted on `split.train`.
 */
export async function evaluateModel(model: RecommenderModel, split: Split, options: EvaluateOptions = {}): Promise<Metrics> {
  if (model.itemIds.length !== split.train.nItems) throw new RangeError(`model has ${model.itemIds.length} items, the split ${split.train.nItems}`);
  const lists = await rankTestUsers(model, split, options.threads ?? availableParallelism());
  if (options.perUserNdcg && options.perUserNdcg.length !== split.testUsers.length)
    throw new RangeError(`perUserNdcg holds ${options.perUserNdcg.length} values for ${split.testUsers.length} test users`);
  return computeMetrics(
    lists,
    { offsets: split.holdoutOffsets, items: split.holdoutItems },
    itemPopularity(split.train),
    split.train.nItems,
    options.perUserNdcg,
  );
}

let contexts = 0;

async function rankTestUsers(model: RecommenderModel, split: Split, threads: number): Promise<{ offsets: Int32Array; items: Int32Array }> {
  const n = split.testUsers.length;
  const nItems = split.train.nItems;
  const context: ScoringContext = {
    model: sharedModel(model),
    live: new Uint8Array(new SharedArrayBuffer(nItems)).fill(1),
    itemGenre: new Uint8Array(new SharedArrayBuffer(nItems)),
    k: EVALUATION_K,
    genreBoost: 1,
    // Ranks only: which heard tracks led to each is not measured.
    explain: false,
  };
  const starts: number[] = [];
  for (let from = 0; from < n; from += CHUNK_USERS) starts.push(from);
  let chunks: ScoredChunk[];
  if (threads <= 1 || n < PARALLEL_FROM) {
    const scorer = new Scorer(context);
    chunks = starts.map((from) => scorer.scoreChunk(histories(split, from, Math.min(n, from + CHUNK_USERS))));
  } else {
    const pool = new ScoringPool(threads);
    const key = `evaluation-${process.pid}-${contexts++}`;
    try {
      chunks = await Promise.all(starts.map((from) => pool.score(key, context, histories(split, from, Math.min(n, from + CHUNK_USERS)))));
    } finally {
      await pool.close();
    }
  }
  const offsets = new Int32Array(n + 1);
  const items = new Int32Array(chunks.reduce((sum, c) => sum + c.items.length, 0));
  let user = 0;
  let at = 0;
  for (const chunk of chunks) {
    items.set(chunk.items, at);
    for (let u = 0; u < chunk.offsets.length - 1; u++) offsets[++user] = at + (chunk.offsets[u + 1] as number);
    at += chunk.items.length;
  }
  return { offsets, items };
}

/** The training histories of test users [from, to), as the Scorer takes them. */
function histories(split: Split, from: number, to: number) {
  const { offsets, items } = split.train;
  const histOffsets = new Int32Array(to - from + 1);
  for (let t = from; t < to; t++) {
    const u = split.testUsers[t] as number;
    histOffsets[t - from + 1] = (histOffsets[t - from] as number) + (offsets[u + 1] as number) - (offsets[u] as number);
  }
  const histItems = new Int32Array(histOffsets[to - from] as number);
  for (let t = from; t < to; t++) {
    const u = split.testUsers[t] as number;
    histItems.set(items.subarray(offsets[u] as number, offsets[u + 1] as number), histOffsets[t - from] as number);
  }
  return { n: to - from, histOffsets, histItems, genre: new Uint8Array(to - from) };
}

/** The model with every typed array in shared memory, so scoring threads read one copy (whatever the family's arrays). */
function sharedModel(model: RecommenderModel): RecommenderModel {
  const copy: Record<string, unknown> = { ...model };
  for (const [name, value] of Object.entries(model)) {
    if (!ArrayBuffer.isView(value) || value.buffer instanceof SharedArrayBuffer) continue;
    const array = value as Float64Array;
    const shared = new (array.constructor as Float64ArrayConstructor)(new SharedArrayBuffer(array.byteLength));
    shared.set(array);
    copy[name] = shared;
  }
  return copy as unknown as RecommenderModel;
}

export interface FamilyRow {
  family: ModelFamily;
  /** The parameters the model was fitted with (the family's defaults filled in), or as asked when the run failed. */
  params: FamilyParams;
  /** null when the family failed (see error). */
  metrics: Metrics | null;
  /** ndcg@10 relative to MostPopular's on the same split (0.25: 25% better); null without a baseline. */
  ndcgUplift: number | null;
  trainMs: number;
  evalMs: number;
  /** Peak resident memory of the process that fitted and evaluated the family. */
  peakRssMb: number;
  /** That process's peak once Node and the split were loaded, before fitting: its floor. */
  baseRssMb: number;
  error?: string;
  /** When tuned: the settings tried on the validation split and the one chosen (`params`). */
  tuning?: Tuning;
  /** Tuned runs: the candidate family (not MostPopular) with the best validation ndcg@10, the one a retraining would pick. */
  picked?: boolean;
  /** Why the family did not run: this data is past its documented limit (e.g. EASE's maxItems). Not a failure. */
  skipped?: string;
}

export interface EvaluateFamiliesInput {
  /** Item ids of the catalogue (index i: itemIds[i]), as the models store them. */
  itemIds: Float64Array;
  split: Split;
  families: readonly ModelFamily[];
  /** Parameters per family; missing ones take the family's defaults. */
  params?: Partial<Record<ModelFamily, FamilyParams>>;
  seed: number;
  /** Threads each family may use to fit and to score (0 or absent: one per core). */
  threads?: number;
  /**
   * Tune each family first, for at most this long each (the defaults are always tried): its
   * grid searched on a validation split carved from the training part, the best setting then
   * fitted on the whole training part and scored once on the test part.
   */
  tuneBudgetMs?: number;
  /** Memory each fit may take, in MB (EASE's catalogue limit follows from it); default: half the machine's. */
  memoryMb?: number;
  onProgress?: (message: string) => void;
}

/**
 * Fits and evaluates each family on the same split, one after the other, each in a child
 * process of its own so its peak memory is its own. MostPopular is always evaluated first
 * (added when not asked for): every row's ndcg@10 is compared to it. A family that fails
 * gets a row with its error and null metrics; a family this data is past the documented
 * limit of gets a row with the reason it was skipped; the others still run.
 */
export async function evaluateFamilies(input: EvaluateFamiliesInput): Promise<FamilyRow[]> {
  const families: ModelFamily[] = ['most-popular', ...input.families.filter((f) => f !== 'most-popular')];
  const unique = [...new Set(families)];
  const dir = mkdtempSync(join(tmpdir(), 'moovitamix-evaluation-'));
  try {
    const splitPath = join(dir, 'split.bin');
    writeSplitFile(splitPath, input.split, input.itemIds);
    const rows: FamilyRow[] = [];
    for (const family of unique) {
      const job: FamilyJob = {
        splitPath,
        family,
        params: input.params?.[family] ?? {},
        seed: input.seed,
        threads: input.threads ?? 0,
        memoryMb: input.memoryMb ?? defaultTrainingMemoryMb(),
        ...(input.tuneBudgetMs !== undefined ? { tuneBudgetMs: input.tuneBudgetMs } : {}),
      };
      const refusal = familyRefusal(family, job.params, input.split.train.nItems, job.memoryMb);
      if (refusal) {
        input.onProgress?.(`${family}: skipped: ${refusal}`);
        rows.push({
          family,
          params: resolveFamilyParams(family, job.params),
          metrics: null,
          ndcgUplift: null,
          trainMs: 0,
          evalMs: 0,
          peakRssMb: 0,
          baseRssMb: 0,
          skipped: refusal,
        });
        continue;
      }
      input.onProgress?.(`${family}: fitting on ${input.split.trainListens} listens`);
      rows.push(await runFamilyProcess(job, (message) => input.onProgress?.(`${family}: ${message}`)));
    }
    const baseline = rows[0]?.metrics?.['ndcg@10'];
    for (const row of rows) row.ndcgUplift = row.metrics && baseline ? row.metrics['ndcg@10'] / baseline - 1 : null;
    // Picked on validation, never on the test figures it is then reported with; MostPopular is
    // the fallback, not a candidate.
    const tuned = rows.filter((row) => row.metrics && row.tuning && row.family !== 'most-popular');
    const pick = tuned.reduce<FamilyRow | undefined>(
      (a, b) => (!a || (b.tuning as Tuning).validationNdcg > (a.tuning as Tuning).validationNdcg ? b : a),
      undefined,
    );
    if (pick) pick.picked = true;
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runFamilyProcess(job: FamilyJob, onProgress: (message: string) => void): Promise<FamilyRow> {
  return new Promise((resolve) => {
    // Whatever the child prints goes to stderr: stdout may be carrying a JSON document.
    const child = fork(new URL('./familyProcess.js', import.meta.url), [], { stdio: ['ignore', 2, 2, 'ipc'] });
    let row: FamilyRow | undefined;
    const failed = (error: string): FamilyRow => ({
      family: job.family,
      params: job.params,
      metrics: null,
      ndcgUplift: null,
      trainMs: 0,
      evalMs: 0,
      peakRssMb: 0,
      baseRssMb: 0,
      error,
    });
    child.on('message', (message: FamilyMessage) => {
      if (message.type === 'progress') onProgress(message.message);
      else if (message.type === 'done') row = { family: job.family, ...message.result, ndcgUplift: null };
      else row = { ...failed(message.message), peakRssMb: message.peakRssMb, baseRssMb: message.baseRssMb };
    });
    child.on('error', (err) => {
      row ??= failed(`could not start the evaluation process: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      // A child killed by the system (out of memory) reports nothing itself.
      const hint = signal === 'SIGKILL' ? ' (killed: out of memory?)' : '';
      resolve(row ?? failed(`the evaluation process exited with ${signal ?? `code ${code}`} before reporting${hint}`));
    });
    child.send(job);
  });
}
