import { availableParallelism } from 'node:os';
import { ScoringPool } from '../scoringPool.js';
import { itemPopularity } from '../interactions.js';
import { Scorer, type ScoredChunk, type ScoringContext } from '../score.js';
import type { RecommenderModel } from '../types.js';
import { DEEPEST_CUTOFF, computeMetrics, type Metrics } from './metrics.js';
import type { Split } from './split.js';

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
