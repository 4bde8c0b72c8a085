import type { SourceName } from '../../sources/index.js';
import type { LoadStats } from '../ingest/stats.js';

export type RunStatus = 'RUNNING' | 'COMPLETED' | 'FAILED';

/** The outcome of one source in one run, as the daily pipeline reports it. */
export interface SourceSummary extends LoadStats {
  status: 'COMPLETED' | 'FAILED';
  /** `total` and `pages` as the API reported them when the run probed page 1. */
  total: number | null;
  pages: number | null;
  error?: string;
}

/** A run's state as the workflow reports it (times as ISO strings: payloads are JSON). */
export interface RunReport {
  /** The Temporal run id of the dailyPipeline execution. */
  runId: string;
  workflowId: string;
  date: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  sources: Partial<Record<SourceName, SourceSummary>>;
}

/** One document of `pipeline_runs`: every statistic of a run in one record. */
export interface PipelineRunDocument {
  _id: string;
  workflow_id: string;
  date: string;
  status: RunStatus;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  sources: Partial<Record<SourceName, SourceSummary>>;
}
