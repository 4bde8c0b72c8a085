import type { Db } from 'mongodb';
import type { AlertRule, AlertSeverity } from '../contracts/health.js';

export const ALERTS_COLLECTION = 'alerts';

/**
 * One document per alert: opened by the first run whose condition holds, kept open
 * (occurrences counted, never delivered again) while later runs still meet it, and
 * resolved by the first run that does not.
 */
export interface AlertDocument {
  /** `<key>@<Temporal run id that opened it>`. */
  _id: string;
  key: string;
  rule: AlertRule;
  severity: AlertSeverity;
  source: string | null;
  status: 'open' | 'resolved';
  message: string;
  workflow_id: string;
  run_id: string;
  date: string;
  opened_at: Date;
  last_seen_workflow_id: string;
  last_seen_run_id: string;
  last_seen_at: Date;
  occurrences: number;
  resolved_at: Date | null;
  resolved_by: string | null;
  delivery: { status: 'pending' | 'delivered' | 'skipped'; attempts: number; delivered_at: Date | null; error: string | null };
}

export const alertsCollection = (db: Db) => db.collection<AlertDocument>(ALERTS_COLLECTION);
