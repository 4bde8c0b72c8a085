import type { Db } from 'mongodb';
import type { DriftOutcome } from '../contracts/training.js';

/** The last drift check of a champion (`_id` = its key), and what it was measured on. */
export const DRIFT_CHECKS = 'drift_checks';
export interface DriftCheckDocument {
  _id: string;
  /** The data version, thresholds and sample size it was measured with. */
  basis: string;
  outcome: DriftOutcome;
  checked_at: Date;
}

export const driftChecksCollection = (db: Db) => db.collection<DriftCheckDocument>(DRIFT_CHECKS);
