import { itemPopularity, transpose, type Interactions } from './interactions.js';
import type { RecommenderModel } from './types.js';

export interface ItemKnnParams {
  /** Neighbours kept per item. */
  neighbors: number;
}

export const DEFAULT_ITEM_KNN: ItemKnnParams = { neighbors: 50 };

/**
 * Item-based k-nearest neighbours with cosine similarity on binary co-occurrence:
 * sim(i, j) = users who heard both / sqrt(users of i * users of j). Each item keeps its
 * `neighbors` most similar items (ties: the lower index first, so a fit is deterministic).
 * Cost: for each item, the histories of its listeners; memory: one dense row of scratch.
 */
export function fitItemKnn(m: Interactions, itemIds: Float64Array, params: ItemKnnParams = DEFAULT_ITEM_KNN): RecommenderModel {
  const k = Math.max(1, Math.floor(params.neighbors));
  const byItem = transpose(m);
  // Users are counted once per item even if they listened twice.
  const listeners = new Float32Array(m.nItems);
  const co = new Float32Array(m.nItems);
  for (let i = 0; i < m.nItems; i++) {
    let previous = -1;
    // The transpose lists each item's users in ascending order: repeats are adjacent.
    for (let p = byItem.offsets[i] as number; p < (byItem.offsets[i + 1] as number); p++) {
      const u = byItem.items[p] as number;
      if (u !== previous) listeners[i]!++;
      previous = u;
    }
  }
  // stamp[j] === pass: item j already counted for this (item, user) pair.
  const stamp = new Int32Array(m.nItems);
  let pass = 0;
  const touched = new Int32Array(m.nItems);
  const offsets = new Int32Array(m.nItems + 1);
  const neighbors: number[] = [];
  const sims: number[] = [];
  const heapItems = new Int32Array(k);
  const heapSims = new Float32Array(k);

  for (let i = 0; i < m.nItems; i++) {
    let nTouched = 0;
    let previous = -1;
    for (let p = byItem.offsets[i] as number; p < (byItem.offsets[i + 1] as number); p++) {
      const u = byItem.items[p] as number;
      if (u === previous) continue;
      previous = u;
      pass++;
      for (let q = m.offsets[u] as number; q < (m.offsets[u + 1] as number); q++) {
        const j = m.items[q] as number;
        if (j === i || stamp[j] === pass) continue;
        stamp[j] = pass;
        if (co[j] === 0) touched[nTouched++] = j;
        co[j]! += 1;
      }
    }
    // A min-heap of the k best (lowest similarity at the root).
    let size = 0;
    for (let t = 0; t < nTouched; t++) {
      const j = touched[t] as number;
      // Rounded as stored, so ties compare equal.
      const sim = Math.fround((co[j] as number) / Math.sqrt((listeners[i] as number) * (listeners[j] as number)));
      co[j] = 0;
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
    const order = Array.from({ length: size }, (_, n) => n).sort((a, b) => (better(heapSims[a] as number, heapItems[a] as number, heapSims[b] as number, heapItems[b] as number) ? -1 : 1));
    for (const n of order) {
      neighbors.push(heapItems[n] as number);
      sims.push(heapSims[n] as number);
    }
    offsets[i + 1] = neighbors.length;
  }
  return {
    family: 'item-knn',
    params: { neighbors: k, similarity: 'cosine' },
    itemIds,
    popularity: itemPopularity(m),
    neighborOffsets: offsets,
    neighbors: Int32Array.from(neighbors),
    similarities: Float32Array.from(sims),
  };
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
