import type { FetchStats } from '../activities/ingest/stats.js';
import type { SourceSummary } from '../activities/runs/types.js';
import type { AlertOutcome } from '../activities/health/alerts.js';
import type { RunHealth } from '../activities/health/types.js';
import type { BatchPlan } from '../activities/recommend/prepare.js';
import type { SourceName } from '../sources/index.js';

export interface IngestSourceInput {
  source: SourceName;
  /** The daily run this ingest belongs to: it names the staging collection and is stored on every record touched. */
  runId: string;
  /** Records per request (1..100). Default 100. */
  pageSize?: number;
  /** Requests in flight for this source: fetchPageRange activities at once. Default 8. */
  concurrency?: number;
  /** At most this many ranges (activities); pages are split evenly between them. Default 2 x concurrency. */
  maxRanges?: number;
  /** How soon a worker that stopped heartbeating is given up on, e.g. "2 minutes" (the default). */
  heartbeatTimeout?: string;
}

/** What ingestSource returns, and hands over as the details of an IngestFailed failure. */
export type IngestSourceResult = Omit<SourceSummary, 'status' | 'error'>;

export type IngestState = 'probing' | 'fetching' | 'reconciling' | 'merging' | 'completed' | 'failed';

export interface IngestProgress {
  source: SourceName;
  state: IngestState;
  totalAtStart: number | null;
  pagesPlanned: number | null;
  fetch: FetchStats;
}

export interface DailyPipelineInput {
  /**
   * The run's logical date, YYYY-MM-DD. Default: the schedule's TemporalScheduledStartTime
   * for a scheduled run, else the day the workflow started (UTC). The API has no date
   * filter: every run reads the whole dataset.
   */
  date?: string;
  /** Sources to ingest; default all. */
  sources?: SourceName[];
  pageSize?: number;
  concurrency?: number;
  maxRanges?: number;
  heartbeatTimeout?: string;
  /** After a healthy ingest, compute and publish recommendations (default true). */
  recommend?: boolean;
}

export interface DailyPipelineResult {
  workflowId: string;
  runId: string;
  date: string;
  status: 'COMPLETED';
  durationMs: number;
  sources: Partial<Record<SourceName, SourceSummary>>;
  /** The checks' outcome and whether downstream steps may start (runs since the health step). */
  health?: RunHealth;
  alerts?: AlertOutcome;
  recommendations?: PipelineRecommendations;
}

export type SourceState = 'pending' | 'running' | 'completed' | 'failed';

export interface PipelineProgress {
  workflowId: string;
  runId: string;
  date: string;
  /** ingesting, then checking (quality checks), alerting (KPIs, alerts, delivery), done. */
  stage?: 'ingesting' | 'checking' | 'recommending' | 'alerting' | 'done';
  sources: Partial<Record<SourceName, { state: SourceState; workflowId: string; summary?: SourceSummary }>>;
  health?: RunHealth;
  recommendations?: PipelineRecommendations;
}

export interface RecommendTotals {
  users: number;
  computed: number;
  carried: number;
  coldStart: number;
}

export interface RecommendInput {
  /** incremental (default): carry over users whose inputs are unchanged under the same model; full: compute everyone. */
  mode?: 'full' | 'incremental';
  /** Users to recompute even if unchanged (at most 10,000). */
  users?: number[];
  /** Scoring activities in flight. Default 4. */
  concurrency?: number;
  /** Set by the workflow itself when it continues as new. */
  resume?: { plan: BatchPlan; nextChunk: number; totals: RecommendTotals; startedAt: number };
}

export interface RecommendResult {
  batchId: string;
  model: string;
  mode: 'full' | 'incremental';
  /** Why an incremental run computed everyone (no active batch, a new model), else null. */
  fullBecause: string | null;
  chunks: number;
  users: number;
  computed: number;
  carried: number;
  coldStart: number;
  previousBatchId: string | null;
  pruned: string[];
  durationMs: number;
}

export interface RecommendProgress {
  stage: 'planning' | 'scoring' | 'publishing' | 'pruning' | 'done' | 'failed';
  batchId: string;
  chunks: number | null;
  chunksDone: number;
  totals: RecommendTotals;
}

/** What the daily run did about recommendations. */
export interface PipelineRecommendations {
  status: 'published' | 'skipped' | 'failed';
  workflowId: string;
  reason?: string;
  result?: RecommendResult;
}
