import type { Binary, Db } from 'mongodb';
import { pairedBootstrap } from '../models/evaluation/bootstrap.js';
import { fromBinary, toBinary } from './binary.js';
import type { PairedInterval } from '../contracts/training.js';

/**
 * Each test user's ndcg@10 for a model on a retraining's split: what the promotion rule's
 * paired bootstrap compares, candidate against champion, user by user. One document per
 * split and model, so a retried evaluation writes the same document again.
 */
export const USER_SCORES = 'evaluation_user_scores';

export interface UserScoresDocument {
  /** `<split>/<model key>`. */
  _id: string;
  split: string;
  snapshot_id: string;
  model: string;
  /** Float32 ndcg@10 per test user, in the split's test-user order. */
  ndcg10: Binary;
  users: number;
  at: Date;
}

/** A split's identity: its snapshot, seed and sample size give the same test users. */
export interface SplitIdentity {
  snapshotId: string;
  seed: number;
  maxUsers: number;
}

const splitKey = (s: SplitIdentity) => `${s.snapshotId}/${s.seed}/${s.maxUsers}`;

export async function saveUserScores(db: Db, split: SplitIdentity, model: string, ndcg10: Float64Array): Promise<void> {
  const key = splitKey(split);
  const doc: UserScoresDocument = {
    _id: `${key}/${model}`,
    split: key,
    snapshot_id: split.snapshotId,
    model,
    ndcg10: toBinary(Float32Array.from(ndcg10)),
    users: ndcg10.length,
    at: new Date(),
  };
  await db.collection<UserScoresDocument>(USER_SCORES).replaceOne({ _id: doc._id }, doc, { upsert: true });
}

export async function loadUserScores(db: Db, split: SplitIdentity, model: string): Promise<Float32Array | null> {
  const doc = await db.collection<UserScoresDocument>(USER_SCORES).findOne({ _id: `${splitKey(split)}/${model}` });
  return doc ? fromBinary(doc.ndcg10, Float32Array) : null;
}

/**
 * Each candidate's paired interval against the champion (candidate minus champion), by
 * candidate key; a candidate without scores on this split, or against a champion without
 * them, gets none. The champion's scores are read once.
 */
export async function pairedUplifts(
  db: Db,
  split: SplitIdentity,
  champion: string,
  candidates: readonly { key: string; scores: string }[],
): Promise<Record<string, PairedInterval>> {
  const b = await loadUserScores(db, split, champion);
  const intervals: Record<string, PairedInterval> = {};
  if (!b) return intervals;
  for (const c of candidates) {
    const a = await loadUserScores(db, split, c.scores);
    if (a && a.length === b.length) intervals[c.key] = pairedBootstrap(a, b, { seed: split.seed });
  }
  return intervals;
}

/** The scores of snapshots pruned: their splits are never judged again. */
export async function dropUserScores(db: Db, snapshotIds: readonly string[]): Promise<void> {
  if (snapshotIds.length > 0) await db.collection<UserScoresDocument>(USER_SCORES).deleteMany({ snapshot_id: { $in: [...snapshotIds] } });
}
