import { evaluateModel } from '../../models/evaluation/evaluate.js';
import { describeSplit, leaveLastOut, type Split, type SplitDescription } from '../../models/evaluation/split.js';
import { remapModel } from '../../models/remap.js';
import type { RecommenderModel } from '../../models/types.js';
import type { Snapshot } from './snapshot.js';

/** A snapshot's split, with the description stored in every model's lineage. */
export type SnapshotSplit = Split & { description: SplitDescription };

const splits = new Map<string, SnapshotSplit>();

/**
 * The leave-last-out split of a snapshot: a pure function of the snapshot, the seed and
 * the sample size, so every activity of a retraining rebuilds the same split (kept for
 * the last few keys, since the candidates of one run share it).
 */
export function splitSnapshot(snapshot: Snapshot, seed: number, maxUsers: number): SnapshotSplit {
  const key = `${snapshot.id}/${seed}/${maxUsers}`;
  let split = splits.get(key);
  if (!split) {
    const s = leaveLastOut(snapshot.interactions, { seed, maxUsers });
    split = Object.assign(s, { description: describeSplit(s) });
    splits.set(key, split);
    while (splits.size > 2) splits.delete(splits.keys().next().value as string);
  }
  return split;
}

/**
 * A model's metrics on a split. `splitItemIds` given: the model was trained on another
 * catalogue (the champion, on an older snapshot) and is first mapped onto this one.
 */
export async function evaluateOnSplit(model: RecommenderModel, split: Split, threads: number, splitItemIds?: Float64Array): Promise<Record<string, number>> {
  return (await scoreOnSplit(model, split, threads, splitItemIds)).metrics;
}

/** evaluateOnSplit, with each test user's ndcg@10 beside the metrics (for the paired bootstrap). */
export async function scoreOnSplit(
  model: RecommenderModel,
  split: Split,
  threads: number,
  splitItemIds?: Float64Array,
): Promise<{ metrics: Record<string, number>; perUser: Float64Array }> {
  const scored = splitItemIds ? remapModel(model, splitItemIds) : model;
  const perUser = new Float64Array(split.testUsers.length);
  return { metrics: { ...(await evaluateModel(scored, split, { threads, perUserNdcg: perUser })) }, perUser };
}

/** A champion this big is not mapped: EASE's weights are dense, n x n over today's catalogue. */
const MAX_REMAPPED_WEIGHTS = 25_000_000 * 4;

/** Why a model cannot be mapped onto a catalogue of `items` tracks, or null when it can. */
export function cannotRemap(model: RecommenderModel, items: number): string | null {
  if (model.weights && items * items > MAX_REMAPPED_WEIGHTS)
    return `EASE over ${items} tracks would need ${Math.round((items * items * 4) / 2 ** 20)} MB of weights`;
  return null;
}
