import { bm25Weights } from './bm25.js';
import { countListens, type CountedListens } from './counted.js';
import { itemPopularity, type Interactions } from './interactions.js';
import { sharedFloat32, sharedInt32 } from './training/shared.js';
import { splitRange } from './training/split.js';
import type { RecommenderModel } from './types.js';
import type { TaskRunner } from './training/taskRunner.js';

export const ITEM_SIMILARITIES = ['cosine', 'bm25', 'bm25-user'] as const;
export type ItemSimilarity = (typeof ITEM_SIMILARITIES)[number];

export interface ItemKnnParams {
  /** Neighbours kept per item. */
  neighbors: number;
  similarity?: ItemSimilarity;
  /** BM25 only: how fast repeat listens saturate. */
  k1?: number;
  /** BM25 only: how much a user's history length discounts each listen (0..1). */
  b?: number;
}

export const DEFAULT_ITEM_KNN = { neighbors: 50, similarity: 'cosine', k1: 1.2, b: 0.75 } as const satisfies Required<ItemKnnParams>;

/**
 * Item-based k-nearest neighbours. Each item keeps its `neighbors` most similar items with
 * a similarity above zero (ties: the lower index first, so a fit is deterministic):
 * - cosine on binary co-occurrence: sim(i, j) = users who heard both / sqrt(users of i * users of j);
 * - bm25: the user x item listen counts weighted as in `implicit`'s BM25Recommender (see
 *   bm25.ts), then sim(i, j) = Σ_u w_ui · w_uj, the dot product of the weighted item columns;
 * - bm25-user: the same with users as BM25's documents (idf per item, length per user).
 * An item is not its own neighbour: `implicit`'s top K holds the item itself (a slot that
 * only ever scores an item the user already heard), so its K is `neighbors` + 1 here
 * (exactly for cosine, where an item is its own best match; almost always for BM25).
 * Cost: for each item, the histories of its listeners; memory: two dense rows of scratch.
 * This runs on the calling thread; `fitItemKnnOn` splits the items across training threads.
 */
export function fitItemKnn(m: Interactions, itemIds: Float64Array, params: ItemKnnParams = DEFAULT_ITEM_KNN): RecommenderModel {
  const job = jobOf(m, itemKnnSpec(m, params));
  for (const task of tasksOf(job, 1)) knnRows(task);
  return assemble(job, m, itemIds);
}

/** fitItemKnn on a runner's threads; the same model whatever their number. */
export function fitItemKnnOn(runner: TaskRunner, m: Interactions, itemIds: Float64Array, params: ItemKnnParams = DEFAULT_ITEM_KNN): Promise<RecommenderModel> {
  return fitNeighboursOn(runner, m, itemIds, itemKnnSpec(m, params));
}

/** Fits a neighbour model on a runner's threads; the same model whatever their number. */
export async function fitNeighboursOn(runner: TaskRunner, m: Interactions, itemIds: Float64Array, spec: NeighbourSpec): Promise<RecommenderModel> {
  const job = jobOf(m, spec);
  await runner.runAll(tasksOf(job, runner.parallelism === 1 ? 1 : runner.parallelism * 8));
  return assemble(job, m, itemIds);
}

/** Computes the neighbour rows of items [from, to) into shared output rows of k slots. */
export interface KnnRowsTask {
  kind: 'knnRows';
  from: number;
  to: number;
  k: number;
  /** Cosine: every weight is 1 (the weight arrays are empty) and dot products are divided by sqrt(listeners_i * listeners_j). */
  cosine: boolean;
  /** When not empty, item j's dot products are multiplied by columnScale[j] (RP3beta's popularity^-beta). */
  columnScale: Float64Array;
  itemOffsets: Int32Array;
  itemUsers: Int32Array;
  itemWeights: Float32Array;
  userOffsets: Int32Array;
  userItems: Int32Array;
  userWeights: Float32Array;
  /** Outputs: item i's row is neighbors/sims[i*k .. i*k + counts[i]), best first. */
  counts: Int32Array;
  neighbors: Int32Array;
  sims: Float32Array;
}

/**
 * A neighbour model to fit: sim(i, j) = Σ_u itemWeight(i, u) · userWeight(u, j), then
 * cosine-normalised or scaled per column, the k best of each row kept. Item-kNN and RP3beta
 * are both this, with their own weights.
 */
export interface NeighbourSpec {
  family: 'item-knn' | 'rp3beta';
  params: Record<string, number | string>;
  k: number;
  listens: CountedListens;
  /** Aligned with `listens.byUser.cols` and `listens.byItem.cols`; empty for cosine. */
  weights: { byUser: Float32Array; byItem: Float32Array };
  cosine: boolean;
  columnScale?: Float64Array;
}

interface Job extends NeighbourSpec {
  counts: Int32Array;
  neighbors: Int32Array;
  sims: Float32Array;
}

function itemKnnSpec(m: Interactions, params: ItemKnnParams): NeighbourSpec {
  const k = Math.max(1, Math.floor(params.neighbors));
  const similarity = params.similarity ?? 'cosine';
  const listens = countListens(m);
  const cosine = similarity === 'cosine';
  const k1 = params.k1 ?? DEFAULT_ITEM_KNN.k1;
  const b = params.b ?? DEFAULT_ITEM_KNN.b;
  // Cosine counts each user once: every weight is 1, none is stored.
  const weights = cosine ? { byUser: sharedFloat32(0), byItem: sharedFloat32(0) } : bm25Weights(listens, k1, b, similarity === 'bm25-user' ? 'users' : 'items');
  return { family: 'item-knn', params: cosine ? { neighbors: k, similarity } : { neighbors: k, similarity, k1, b }, k, listens, weights, cosine };
}

function jobOf(m: Interactions, spec: NeighbourSpec): Job {
  return { ...spec, counts: sharedInt32(m.nItems), neighbors: sharedInt32(m.nItems * spec.k), sims: sharedFloat32(m.nItems * spec.k) };
}

/** Splits the items into `parts` ranges of about equal cost (the history lengths of their listeners). */
function tasksOf(job: Job, parts: number): KnnRowsTask[] {
  const { byUser, byItem } = job.listens;
  const nItems = byItem.nRows;
  const cost = new Float64Array(nItems);
  for (let i = 0; i < nItems; i++) {
    let c = 1;
    for (let p = byItem.offsets[i] as number; p < (byItem.offsets[i + 1] as number); p++) {
      const u = byItem.cols[p] as number;
      c += (byUser.offsets[u + 1] as number) - (byUser.offsets[u] as number);
    }
    cost[i] = c;
  }
  return splitRange(nItems, parts, (i) => cost[i] as number).map(([from, to]) => taskOf(job, from, to));
}

function taskOf(job: Job, from: number, to: number): KnnRowsTask {
  const { byUser, byItem } = job.listens;
  return {
    kind: 'knnRows',
    from,
    to,
    k: job.k,
    cosine: job.cosine,
    columnScale: job.columnScale ?? new Float64Array(0),
    itemOffsets: byItem.offsets,
    itemUsers: byItem.cols,
    itemWeights: job.weights.byItem,
    userOffsets: byUser.offsets,
    userItems: byUser.cols,
    userWeights: job.weights.byUser,
    counts: job.counts,
    neighbors: job.neighbors,
    sims: job.sims,
  };
}

function assemble(job: Job, m: Interactions, itemIds: Float64Array): RecommenderModel {
  const offsets = new Int32Array(m.nItems + 1);
  for (let i = 0; i < m.nItems; i++) offsets[i + 1] = (offsets[i] as number) + (job.counts[i] as number);
  const total = offsets[m.nItems] as number;
  const neighbors = new Int32Array(total);
  const similarities = new Float32Array(total);
  for (let i = 0; i < m.nItems; i++) {
    const from = i * job.k;
    const to = from + (job.counts[i] as number);
    neighbors.set(job.neighbors.subarray(from, to), offsets[i] as number);
    similarities.set(job.sims.subarray(from, to), offsets[i] as number);
  }
  return { family: job.family, params: job.params, itemIds, popularity: itemPopularity(m), neighborOffsets: offsets, neighbors, similarities };
}

/** The kernel: accumulates item i's dot products with every co-listened item, keeps the k best. */
export function knnRows(t: KnnRowsTask): void {
  const nItems = t.itemOffsets.length - 1;
  const k = t.k;
  const acc = new Float64Array(nItems);
  // stamp[j] === i + 1: item j already touched for item i.
  const stamp = new Int32Array(nItems);
  const touched = new Int32Array(nItems);
  const heapItems = new Int32Array(k);
  const heapSims = new Float32Array(k);
  const scaled = t.columnScale.length > 0;
  for (let i = t.from; i < t.to; i++) {
    const mark = i + 1;
    let nTouched = 0;
    for (let p = t.itemOffsets[i] as number; p < (t.itemOffsets[i + 1] as number); p++) {
      const u = t.itemUsers[p] as number;
      const wu = t.cosine ? 1 : (t.itemWeights[p] as number);
      for (let q = t.userOffsets[u] as number; q < (t.userOffsets[u + 1] as number); q++) {
        const j = t.userItems[q] as number;
        if (j === i) continue;
        if (stamp[j] !== mark) {
          stamp[j] = mark;
          acc[j] = 0;
          touched[nTouched++] = j;
        }
        acc[j]! += t.cosine ? 1 : wu * (t.userWeights[q] as number);
      }
    }
    const listenersI = (t.itemOffsets[i + 1] as number) - (t.itemOffsets[i] as number);
    // A min-heap of the k best (lowest similarity at the root).
    let size = 0;
    for (let n = 0; n < nTouched; n++) {
      const j = touched[n] as number;
      const dot = acc[j] as number;
      // Rounded as stored, so ties compare equal.
      const sim = Math.fround(
        t.cosine
          ? dot / Math.sqrt(listenersI * ((t.itemOffsets[j + 1] as number) - (t.itemOffsets[j] as number)))
          : scaled
            ? dot * (t.columnScale[j] as number)
            : dot,
      );
      if (!(sim > 0)) continue;
      if (size < k) {
        heapItems[size] = j;
        heapSims[size] = sim;
        siftUp(heapItems, heapSims, size++);
      } else if (better(sim, j, heapSims[0] as number, heapItems[0] as number)) {
        heapItems[0] = j;
        heapSims[0] = sim;
        siftDown(heapItems, heapSims, size);
      }
    }
    // Pop the worst into the last free slot: the row ends up best first.
    const base = i * k;
    t.counts[i] = size;
    while (size > 0) {
      size--;
      t.neighbors[base + size] = heapItems[0] as number;
      t.sims[base + size] = heapSims[0] as number;
      heapItems[0] = heapItems[size] as number;
      heapSims[0] = heapSims[size] as number;
      siftDown(heapItems, heapSims, size);
    }
  }
}

/** a ranks before b: higher similarity, then the lower index. */
function better(simA: number, a: number, simB: number, b: number): boolean {
  return simA > simB || (simA === simB && a < b);
}

function siftUp(items: Int32Array, sims: Float32Array, at: number): void {
  while (at > 0) {
    const parent = (at - 1) >> 1;
    if (!better(sims[parent] as number, items[parent] as number, sims[at] as number, items[at] as number)) break;
    swap(items, sims, at, parent);
    at = parent;
  }
}

function siftDown(items: Int32Array, sims: Float32Array, size: number): void {
  let at = 0;
  for (;;) {
    const l = 2 * at + 1;
    const r = l + 1;
    let worst = at;
    if (l < size && better(sims[worst] as number, items[worst] as number, sims[l] as number, items[l] as number)) worst = l;
    if (r < size && better(sims[worst] as number, items[worst] as number, sims[r] as number, items[r] as number)) worst = r;
    if (worst === at) return;
    swap(items, sims, at, worst);
    at = worst;
  }
}

function swap(items: Int32Array, sims: Float32Array, a: number, b: number): void {
  const ti = items[a] as number;
  items[a] = items[b] as number;
  items[b] = ti;
  const ts = sims[a] as number;
  sims[a] = sims[b] as number;
  sims[b] = ts;
}
