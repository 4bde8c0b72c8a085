import type { Got } from 'got';
import type { Db } from 'mongodb';
import { createHealthActivities } from './health/activities.js';
import { defaultQualitySettings, type QualitySettings } from '../config/quality.js';
import { createIngestActivities } from './ingest/activities.js';
import type { RetryPolicy } from './ingest/requestPage.js';
import type { StagingPool } from './ingest/stagingPool.js';
import type { LocalStagedPages } from '../stores/localStagedPages.js';
import { createRecommendActivities } from './recommend/activities.js';
import type { ScoringPool } from '../models/scoringPool.js';
import type { RecommendSettings } from '../config/recommendSettings.js';
import { createTrainingActivities } from './training/activities.js';
import { type TrainingSettings } from '../config/trainingSettings.js';
import type { PipelineMetrics } from './runs/metrics.js';
import { createRunActivities } from './runs/recordRun.js';
import { defaultTrainingSettings } from '../config/config.js';

export interface ActivityDeps {
  db: Db;
  http: Got;
  /** Base URL of the Moovitamix API, without a trailing slash. */
  apiUrl: string;
  /** How a page request is retried in place before the activity attempt fails. */
  retryPolicy: RetryPolicy;
  /** Answers larger than this are refused. */
  maxResponseBytes: number;
  /** Check thresholds, severities and alert rules; the defaults when not given. */
  quality?: QualitySettings;
  /** Where alerts and the daily summary are POSTed (Slack-compatible JSON); a secret. */
  alertWebhookUrl?: string;
  /** The pipeline's Prometheus series; none when not given. */
  metrics?: PipelineMetrics;
  /** How recommendations are computed and kept; the defaults when not given. */
  recommend?: RecommendSettings;
  /** Staging threads (read, validate, hash and compress pages), owned by the caller; inline when not given. */
  stagingPool?: StagingPool;
  /** Copies of the pages this process stages, read by its own merges; owned by the caller. */
  localPages?: LocalStagedPages;
  /** Scoring threads, owned by the caller (the worker closes them). */
  scoringPool?: ScoringPool;
  /** How models are trained and promoted; the defaults when not given. */
  training?: TrainingSettings;
  /** Share of users the canary serves from the challenger's batch (0: no canary). */
  canaryShare?: number;
}

/** Every activity of the worker, bound to its dependencies (tests inject their own). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createIngestActivities(deps),
    ...createRunActivities(deps),
    ...createHealthActivities({ db: deps.db, quality: deps.quality ?? defaultQualitySettings(), alertWebhookUrl: deps.alertWebhookUrl }),
    ...createRecommendActivities({ db: deps.db, settings: deps.recommend, pool: deps.scoringPool }),
    ...createTrainingActivities({ db: deps.db, settings: deps.training ?? defaultTrainingSettings(), canaryEnabled: () => (deps.canaryShare ?? 0) > 0 }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
