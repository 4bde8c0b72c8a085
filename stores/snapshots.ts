import type { Db } from 'mongodb';

/** The arrays of a snapshot, each an artifact of its own. */
export type SnapshotArray = 'user_ids' | 'item_ids' | 'offsets' | 'items' | 'item_genres';

export const TRAINING_SNAPSHOTS = 'training_snapshots';

export interface SnapshotDocument {
  /** `snap-<content hash>`: the same listens give the same id. */
  _id: string;
  created_at: Date;
  users: number;
  tracks: number;
  listens: number;
  /** Genre words of the catalogue (index = the code in the `item_genres` array). */
  genre_words: string[];
  /** Listen share per genre word: the reference for genre drift. */
  genre_shares: Record<string, number>;
  arrays: Record<SnapshotArray, number>;
}

export const snapshotsCollection = (db: Db) => db.collection<SnapshotDocument>(TRAINING_SNAPSHOTS);
