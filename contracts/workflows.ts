// The inputs, results and progress of the workflows: what the CLI, the service and schedules send and read.
import type { RunHealth } from './health.js';
import type { PipelineDrift, PipelineRecommendations } from './pipeline.js';
import type { FetchStats } from './ingest.js';
import type { ModelFamily, SourceName } from './names.js';
import type { AlertOutcome } from './health.js';
import type { Decision, ScoredModel, TrainCandidateOutcome } from './training.js';
import type { BatchPlan } from './recommend.js';
import type { SourceSummary } from './ingest.js';

/** How a source is fetched: the daily run passes its own to every source. */
export interface IngestOptions {
  /** Records per request (1..100). Default 100. */
  pageSize?: number;
  /** Requests in flight for this source: fetchPageRange activities at once. Default 8. */
  concurrency?: number;
  /** At most this many ranges (activities); pages are split evenly between them. Default 2 x concurrency. */
  maxRanges?: number;
  /** How soon a worker that stopped heartbeating is given up on, e.g. "2 minutes" (the default). */
  heartbeatTimeout?: string;
  /**
   * Temporal attempts of each activity that calls the API (probe, page range), default 10:
   * with the default backoff (2 s doubling to 1 min) about 5 minutes of an API down before the
   * source fails. Each attempt also retries every request MOOVITAMIX_HTTP_MAX_ATTEMPTS times.
   */
  fetchAttempts?: number;
}

/** The names of IngestOptions, for a workflow to pick them from its input. */
export const INGEST_OPTIONS = ['pageSize', 'concurrency', 'maxRanges', 'heartbeatTimeout', 'fetchAttempts'] as const satisfies readonly (keyof IngestOptions)[];

export interface IngestSourceInput extends IngestOptions {
  source: SourceName;
  /** The daily run this ingest belongs to: it names the staging collection and is stored on every record touched. */
  runId: string;
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

export interface DailyPipelineInput extends IngestOptions {
  /**
   * The run's logical date, YYYY-MM-DD. Default: the schedule's TemporalScheduledStartTime
   * for a scheduled run, else the day the workflow started (UTC). The API has no date
   * filter: every run reads the whole dataset.
   */
  date?: string;
  /** Sources to ingest; default all. */
  sources?: SourceName[];
  /** After a healthy ingest, compute and publish recommendations (default true). */
  recommend?: boolean;
  /** After a healthy ingest, check drift against the champion's training data and retrain past a threshold (default true). */
  drift?: boolean;
}

export interface DailyPipelineResult {
  workflowId: string;
  runId: string;
  date: string;
  status: 'COMPLETED';
  durationMs: number;
  sources: Partial<Record<SourceName, SourceSummary>>;
  /** The checks' outcome and whether downstream steps may start. */
  health: RunHealth;
  alerts?: AlertOutcome;
  recommendations?: PipelineRecommendations;
  drift?: PipelineDrift;
}

export type SourceState = 'pending' | 'running' | 'completed' | 'failed';

export interface PipelineProgress {
  workflowId: string;
  runId: string;
  date: string;
  /** ingesting, then checking (quality checks), alerting (KPIs, alerts, delivery), done. */
  stage?: 'ingesting' | 'checking' | 'recommending' | 'checking drift' | 'alerting' | 'done';
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
  /** active (default): the champion's lists for everyone; challenger: the challenger's lists, served to the canary's share. */
  slot?: 'active' | 'challenger';
  /** Set by the workflow itself when it continues as new. */
  resume?: { plan: BatchPlan; nextChunk: number; totals: RecommendTotals; startedAt: number };
}

export interface RecommendProgress {
  stage: 'planning' | 'scoring' | 'publishing' | 'pruning' | 'done' | 'failed';
  batchId: string;
  chunks: number | null;
  chunksDone: number;
  totals: RecommendTotals;
}

/** What a retraining was asked to do. Every field is optional: a schedule starts it with `{ trigger: 'schedule' }`. */
export interface RetrainInput {
  /** Who started it: schedule (weekly-retrain), manual (CLI, UI) or drift (the daily run). */
  trigger?: 'schedule' | 'manual' | 'drift';
  /** Why, in words (the drift check's reasons). */
  reason?: string;
  /** Candidate families; default: the worker's MOOVITAMIX_RETRAIN_FAMILIES. */
  families?: ModelFamily[];
  /** Raw hyper-parameters per family (`{ als: { factors: '32' } }`); default: MOOVITAMIX_RETRAIN_PARAMS. */
  params?: Partial<Record<ModelFamily, Record<string, string>>>;
  /** Split and training seed; default: drawn by the workflow (recorded in its result). */
  seed?: number;
  /** Recompute every user's recommendations after a promotion (default true). */
  recompute?: boolean;
}

export interface RetrainResult {
  trigger: string;
  snapshotId: string;
  seed: number;
  candidates: TrainCandidateOutcome[];
  baseline: ScoredModel;
  /** The champion before the decision, scored on the same split. */
  champion: ScoredModel | null;
  decision: Decision;
  /** The recommend child run after a promotion (and the canary's challenger batch). */
  recommendations: RetrainRecommendations[];
  durationMs: number;
}

export interface RetrainRecommendations {
  slot: 'active' | 'challenger';
  workflowId: string;
  status: 'published' | 'failed';
  batchId?: string;
  reason?: string;
}

export interface RetrainProgress {
  stage: 'snapshot' | 'training' | 'evaluating' | 'deciding' | 'recommending' | 'done' | 'failed';
  snapshotId: string | null;
  trained: string[];
  training: string | null;
}
