// A run's health: what each source's checks found, the run's verdict and KPIs, and the alerts it opened.
import type { SourceName } from './names.js';
import type { SourceSummary } from './ingest.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One check's outcome, as dbt tests and Great Expectations report them. */
export interface CheckResult {
  check: CheckName;
  /** The field checked, for per-field checks. */
  field: string | null;
  status: CheckStatus;
  severity: 'error' | 'warn';
  /** What was measured: offending records, a count difference, an age in days or a z-score. */
  observed: number;
  /** Records looked at, when `observed` counts records. */
  total: number | null;
  /** What is compared with the thresholds: observed / total, days, |z| or a relative change. */
  value: number;
  unit: 'rate' | 'days' | 'z' | 'change';
  warnAbove: number;
  failAbove: number;
  /** A few offending keys (or field names), for a first look. */
  samples: string[];
  message: string;
}

export interface StatusCounts {
  pass: number;
  warn: number;
  fail: number;
}

/** What each source contributes to the run's KPIs (computed in the same pass as its checks). */
export interface SourceKpis {
  /** Records live (not tombstoned) after the run. */
  live: number;
  /** users: users created on each of the 30 days up to the run date, from `created_at`. */
  newUsersPerDay?: Record<string, number>;
  /** users: the most common favourite genres. */
  favoriteGenres?: { genre: string; users: number }[];
  /** listen_history: listens per history. */
  historyLength?: { mean: number; p50: number; p90: number; max: number; histogram: Record<string, number> };
  /** listen_history: live users with at least one listen. */
  usersWithListens?: number;
  /** listen_history: genres of the tracks listened to, the most listened first. */
  topGenres?: { genre: string; listens: number }[];
}

/** One document of `quality_reports` per run and source (`_id` = `<workflow id>/<source>`). */
export interface QualityReportDocument {
  _id: string;
  workflow_id: string;
  run_id: string;
  date: string;
  source: SourceName;
  created_at: Date;
  status: CheckStatus;
  counts: StatusCounts;
  /** A failing check of severity error, with the gate on: downstream steps must not start. */
  blocking: boolean;
  checks: CheckResult[];
  kpis: SourceKpis | null;
}

export interface CheckSourceInput {
  workflowId: string;
  runId: string;
  date: string;
  source: SourceName;
  summary: SourceSummary;
}

/** What goes back to the workflow: counts and names, never rows. */
export interface CheckSourceResult {
  source: SourceName;
  status: CheckStatus;
  counts: StatusCounts;
  blocking: boolean;
  /** `check` or `check:field` of every failing check. */
  failing: string[];
}

/** The run's KPIs, stored on its `pipeline_runs` document. */
export interface RunKpis {
  liveUsers: number | null;
  liveTracks: number | null;
  liveHistories: number | null;
  newUsersPerDay: Record<string, number>;
  newUsersOnDate: number;
  historyLength: SourceKpis['historyLength'] | null;
  usersWithListens: number | null;
  topGenres: { genre: string; listens: number }[];
  favoriteGenres: { genre: string; users: number }[];
  /** Pipeline KPIs. */
  durationMs: number;
  sourceDurationsMs: Partial<Record<SourceName, number>>;
  collectionSizes: Record<string, number>;
  /** Runs per date over the 14 days up to the run date. */
  runsPerDay: Record<string, { succeeded: number; failed: number }>;
}

/** The health part of a run record. */
export interface RunHealth {
  status: CheckStatus;
  counts: StatusCounts;
  /** Per source: its checks' worst status, and the failing ones. */
  sources: Partial<Record<SourceName, { status: CheckStatus; failing: string[] }>>;
  /** Whether steps after the ingest (recommendations) may start, and why not. */
  downstream: { allowed: boolean; reason: string | null };
}

export const RATE_CHECKS = [
  'not_null',
  'types',
  'accepted_values',
  'unique_key',
  'duplicate_rate',
  'missing_rate',
  'orphan_users',
  'orphan_tracks',
  'reconcile_total',
  'reconcile_pages',
  'schema_drift',
] as const;

export type RateCheck = (typeof RATE_CHECKS)[number];

export type CheckName = RateCheck | 'freshness' | 'volume';

export interface AlertOutcome {
  opened: number;
  ongoing: number;
  resolved: number;
  /** Open alerts after this run, by severity. */
  open: { critical: number; warning: number };
}

/** Offending records of one kind for one field: how many, and the first few keys. */
export interface Tally {
  count: number;
  samples: string[];
}

export interface FieldProfile {
  /** Absent or null. */
  nulls: Tally;
  /** Present and non-null but not of the contract's type or format. */
  wrongType: Tally;
  /** Absent, null, an empty string or an empty list. */
  missing: Tally;
  /** A string outside the field's accepted values. */
  unexpected: Tally;
}

/**
 * What the health checks need of a source's live records, gathered by the merge while it
 * holds each of them anyway: the field profile of the records the run served, and the
 * aggregates of every live record (counts, per-day and per-genre tallies). The checks read
 * this, and the ids records point at from the key indexes, instead of every record.
 */
export interface LiveProfileDocument {
  /** Records the run served and stored (valid, first copy of each key). */
  profile: { records: number; newest: number | null; fields: Record<string, FieldProfile> };
  /** Live records after the merge. */
  live: number;
  /** users: live users by the UTC day they were created, and by favourite genre. */
  created_days?: Record<string, number>;
  favorite_genres?: Record<string, number>;
  /** listen_history: live histories by length. */
  history_lengths?: Record<string, number>;
  /** Per reference field: values that are not ids at all (each counts as an orphan). */
  not_ids?: Record<string, Tally>;
}

export type AlertRule = 'run_failed' | 'recommend_failed' | 'missed_run' | 'slow_run' | 'retry_rate' | 'error_rate' | 'check_failed' | 'volume_anomaly';

export type AlertSeverity = 'critical' | 'warning';
