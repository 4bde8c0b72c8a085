import type { RecommenderModel } from './types.js';

/**
 * The same model over another catalogue (`itemIds`, ascending or not): what the champion,
 * trained on an older snapshot, looks like over today's tracks, so that it is scored on
 * the very split the candidates are. Tracks it never saw get no popularity, no neighbours,
 * zero factors and zero weights: it cannot recommend them, as in service.
 */
export function remapModel(model: RecommenderModel, itemIds: Float64Array): RecommenderModel {
  const from = new Map<number, number>();
  model.itemIds.forEach((id, i) => from.set(id, i));
  const to = new Map<number, number>();
  itemIds.forEach((id, i) => to.set(id, i));
  const n = itemIds.length;
  const old = Int32Array.from(itemIds, (id) => from.get(id) ?? -1);
  const out: RecommenderModel = { family: model.family, params: model.params, itemIds, popularity: new Float32Array(n) };
  for (let i = 0; i < n; i++) if ((old[i] as number) >= 0) out.popularity[i] = model.popularity[old[i] as number] as number;

  if (model.neighborOffsets && model.neighbors && model.similarities) {
    const offsets = new Int32Array(n + 1);
    const neighbors: number[] = [];
    const sims: number[] = [];
    for (let i = 0; i < n; i++) {
      const o = old[i] as number;
      if (o >= 0) {
        for (let q = model.neighborOffsets[o] as number; q < (model.neighborOffsets[o + 1] as number); q++) {
          const j = to.get(model.itemIds[model.neighbors[q] as number] as number);
          if (j === undefined) continue;
          neighbors.push(j);
          sims.push(model.similarities[q] as number);
        }
      }
      offsets[i + 1] = neighbors.length;
    }
    out.neighborOffsets = offsets;
    out.neighbors = Int32Array.from(neighbors);
    out.similarities = Float32Array.from(sims);
  }
  if (model.itemFactors) {
    const f = model.itemFactors.length / model.itemIds.length;
    out.itemFactors = new Float32Array(n * f);
    for (let i = 0; i < n; i++)
      if ((old[i] as number) >= 0) out.itemFactors.set(model.itemFactors.subarray((old[i] as number) * f, ((old[i] as number) + 1) * f), i * f);
  }
  if (model.weights) {
    const m = model.itemIds.length;
    out.weights = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      const oi = old[i] as number;
      if (oi < 0) continue;
      for (let j = 0; j < n; j++) {
        const oj = old[j] as number;
        if (oj >= 0) out.weights[i * n + j] = model.weights[oi * m + oj] as number;
      }
    }
  }
  return out;
}
