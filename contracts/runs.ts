// The run record: what one daily run did, source by source, as pipeline_runs keeps it.
import type { RunHealth, RunKpis } from './health.js';
import type { PipelineDrift, PipelineRecommendations } from './pipeline.js';
import type { FetchStats, MergeStats } from './ingest.js';
import type { SourceName } from './names.js';

export type RunStatus = 'RUNNING' | 'COMPLETED' | 'FAILED';

/** Everything one source did in one run. */
export interface SourceSummary extends FetchStats, MergeStats {
  status: 'COMPLETED' | 'FAILED';
  /** `total` as the API reported it when the run started and when it ended. */
  totalAtStart: number | null;
  totalAtEnd: number | null;
  /** Pages the run had to fetch. `pages` (from FetchStats) is how many it staged. */
  pagesPlanned: number | null;
  /** Every page staged, fetched = total at start = total at end, every invalid record keyed: absent records were tombstoned. */
  complete: boolean;
  /** Why the run is not complete, when it is not. */
  incompleteReason: string | null;
  /** The staged pages were applied to the raw and curated layers. */
  merged: boolean;
  fetchMs: number;
  mergeMs: number;
  durationMs: number;
  recordsPerSecond: number;
  requestsPerSecond: number;
  error?: string;
}

/** A run's state as the workflow reports it (times as ISO strings: payloads are JSON). */
export interface RunReport {
  workflowId: string;
  /** The Temporal run id: what raw documents and quarantine records name as their run. */
  runId: string;
  date: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  sources: Partial<Record<SourceName, SourceSummary>>;
}

/** One document of `pipeline_runs` per run, keyed by workflow id (a re-run of a date replaces it). */
export interface PipelineRunDocument {
  _id: string;
  run_id: string;
  date: string;
  status: RunStatus;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  sources: Partial<Record<SourceName, SourceSummary>>;
  /** Set once the run's checks ran: their outcome and whether downstream steps may start. */
  health?: RunHealth;
  kpis?: RunKpis;
  /** Set once the run's recommendation step ended. */
  recommendations?: PipelineRecommendations;
  /** The drift check against the champion's training data, and the retraining it started. */
  drift?: PipelineDrift;
}
