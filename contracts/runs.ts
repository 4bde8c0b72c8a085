// The run record: what one daily run did, source by source, as pipeline_runs keeps it.
import type { RunHealth, RunKpis } from './health.js';
import type { PipelineDrift, PipelineRecommendations } from './pipeline.js';
import type { SourceName } from './names.js';
import type { SourceSummary } from './ingest.js';

export type RunStatus = 'RUNNING' | 'COMPLETED' | 'FAILED';

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
