import { isAbsolute, resolve } from 'node:path';
import * as v from 'valibot';
import { availableParallelism } from 'node:os';
import type { RecommendSettings } from './recommendSettings.js';
import { defaultTrainingSettings, trainingCandidatesFromEnv, type TrainingSettings } from './trainingSettings.js';
import { loadQualitySettings, type QualitySettings } from './quality.js';
import { defaultCacheDir, defaultDataDir } from './paths.js';
import { redactUri } from './redact.js';

/** Settings read from the environment; see docs/configuration.md. */
export interface Config {
  /** Base URL of the Moovitamix API, without a trailing slash. */
  apiUrl: string;
  mongodbUri: string;
  /** True when MONGODB_URI was set: the dev stack then starts no MongoDB server. */
  mongodbUriFromEnv: boolean;
  mongodbDb: string;
  /** Port of the MongoDB-protocol server the dev stack starts when MONGODB_URI is not set. */
  mongodbPort: number;
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  /** Where the dev stack keeps databases, logs and pid files. */
  dataDir: string;
  /** Where built server binaries are cached, shared across clones. */
  cacheDir: string;
  /** V8 old-space limit of the workers the stack starts, in MB: keeps their memory flat. */
  workerHeapMb: number;
  /** Where alerts and the daily summary are POSTed (Slack-compatible); a secret, never printed. */
  alertWebhookUrl: string | undefined;
  /** Port of the worker's Prometheus endpoint; 0 turns it off. */
  metricsPort: number;
  /** Interface it binds: 127.0.0.1 unless a container must expose it. */
  metricsHost: string;
  /** Check thresholds and alert rules: the defaults, or MOOVITAMIX_QUALITY_CONFIG's file over them. */
  quality: QualitySettings;
  /** The file the quality settings came from, if any. */
  qualityConfigPath: string | undefined;
  /** How recommendations are computed and kept. */
  recommend: RecommendSettings;
  /** How models are trained, compared and promoted, and when drift starts a retraining. */
  training: TrainingSettings;
  /** Share of users the recommendations API serves from the challenger's batch (0: canary off). */
  canaryShare: number;
  /** How the worker talks to the API. */
  http: {
    timeoutMs: number;
    maxAttempts: number;
    backoffMs: number;
    maxResponseBytes: number;
  };
  /** Threads per worker that read, validate and stage page bodies. */
  stagingThreads: number;
}

/** The server the dev stack starts, when MONGODB_URI is not set. */
export function localMongoUri(port: number, host = '127.0.0.1'): string {
  return `mongodb://${host}:${port}/?directConnection=true`;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const hostPort = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
// MongoDB database names: no /\. "$*<>:|? and at most 63 bytes.
// eslint-disable-next-line no-control-regex -- a NUL byte is one of the characters refused
const mongoDbName = /^[^/\\. "$*<>:|?\u0000]{1,63}$/;
const temporalName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

function httpUrl(name: string, allowQuery = false) {
  return v.pipe(
    v.string(),
    v.check(
      (s) => {
        try {
          const u = new URL(s);
          return (u.protocol === 'http:' || u.protocol === 'https:') && (allowQuery || !u.search) && !u.hash;
        } catch {
          return false;
        }
      },
      allowQuery ? `${name} must be an http:// or https:// URL` : `${name} must be an http:// or https:// URL without query or fragment`,
    ),
  );
}

interface Rule {
  variable: string;
  fallback: string | undefined;
  schema: v.GenericSchema<string, string>;
  /** Values of this variable may hold credentials: never echo them. */
  secret?: boolean;
}

const rules = {
  apiUrl: { variable: 'MOOVITAMIX_API_URL', fallback: 'http://127.0.0.1:8000', schema: httpUrl('MOOVITAMIX_API_URL') },
  mongodbUri: {
    variable: 'MONGODB_URI',
    fallback: undefined,
    secret: true,
    schema: v.pipe(v.string(), v.regex(/^mongodb(\+srv)?:\/\/[^\s]+$/, 'MONGODB_URI must start with mongodb:// or mongodb+srv://')),
  },
  mongodbDb: {
    variable: 'MONGODB_DB',
    fallback: 'moovitamix',
    schema: v.pipe(v.string(), v.regex(mongoDbName, 'MONGODB_DB must be 1-63 characters, none of /\\. "$*<>:|?')),
  },
  mongodbPort: {
    variable: 'MOOVITAMIX_MONGODB_PORT',
    fallback: '27017',
    schema: v.pipe(
      v.string(),
      v.regex(/^\d{1,5}$/, 'MOOVITAMIX_MONGODB_PORT must be a port number'),
      v.check((s) => Number(s) >= 1 && Number(s) <= 65535, 'MOOVITAMIX_MONGODB_PORT must be 1-65535'),
    ),
  },
  temporalAddress: {
    variable: 'TEMPORAL_ADDRESS',
    fallback: '127.0.0.1:7233',
    schema: v.pipe(
      v.string(),
      v.regex(hostPort, 'TEMPORAL_ADDRESS must be host:port'),
      v.check((s) => {
        const port = Number(hostPort.exec(s)?.[1]);
        return port >= 1 && port <= 65535;
      }, 'TEMPORAL_ADDRESS port must be 1-65535'),
    ),
  },
  temporalNamespace: {
    variable: 'TEMPORAL_NAMESPACE',
    fallback: 'default',
    schema: v.pipe(v.string(), v.regex(temporalName, 'TEMPORAL_NAMESPACE must be letters, digits, ".", "_" or "-"')),
  },
  taskQueue: {
    variable: 'TEMPORAL_TASK_QUEUE',
    fallback: 'moovitamix',
    schema: v.pipe(v.string(), v.regex(temporalName, 'TEMPORAL_TASK_QUEUE must be letters, digits, ".", "_" or "-"')),
  },
  alertWebhookUrl: { variable: 'ALERT_WEBHOOK_URL', fallback: undefined, secret: true, schema: httpUrl('ALERT_WEBHOOK_URL', true) },
  metricsHost: {
    variable: 'MOOVITAMIX_METRICS_HOST',
    fallback: '127.0.0.1',
    schema: v.pipe(v.string(), v.regex(/^[A-Za-z0-9.:-]{1,253}$/, 'MOOVITAMIX_METRICS_HOST must be a host name or IP address')),
  },
  qualityConfigPath: {
    variable: 'MOOVITAMIX_QUALITY_CONFIG',
    fallback: undefined,
    schema: v.pipe(v.string(), v.minLength(1, 'MOOVITAMIX_QUALITY_CONFIG must not be empty')),
  },
  dataDir: {
    variable: 'MOOVITAMIX_DATA_DIR',
    fallback: undefined,
    schema: v.pipe(v.string(), v.minLength(1, 'MOOVITAMIX_DATA_DIR must not be empty')),
  },
  cacheDir: {
    variable: 'MOOVITAMIX_CACHE_DIR',
    fallback: undefined,
    schema: v.pipe(v.string(), v.minLength(1, 'MOOVITAMIX_CACHE_DIR must not be empty')),
  },
} satisfies Record<string, Rule>;

/** Whole numbers read from the environment, with their default and bounds. */
const numbers = {
  httpTimeoutMs: { variable: 'MOOVITAMIX_HTTP_TIMEOUT_MS', fallback: 30_000, min: 100, max: 600_000 },
  httpMaxAttempts: { variable: 'MOOVITAMIX_HTTP_MAX_ATTEMPTS', fallback: 5, min: 1, max: 20 },
  httpBackoffMs: { variable: 'MOOVITAMIX_HTTP_BACKOFF_MS', fallback: 500, min: 0, max: 60_000 },
  maxResponseBytes: { variable: 'MOOVITAMIX_MAX_RESPONSE_BYTES', fallback: 8 * 1024 * 1024, min: 1024, max: 1024 * 1024 * 1024 },
  workerHeapMb: { variable: 'MOOVITAMIX_WORKER_HEAP_MB', fallback: 256, min: 64, max: 65536 },
  metricsPort: { variable: 'MOOVITAMIX_METRICS_PORT', fallback: 9464, min: 0, max: 65535 },
  recommendK: { variable: 'MOOVITAMIX_RECOMMEND_K', fallback: 20, min: 1, max: 100 },
  recommendChunkSize: { variable: 'MOOVITAMIX_RECOMMEND_CHUNK_SIZE', fallback: 5000, min: 100, max: 20_000 },
  recommendKeepBatches: { variable: 'MOOVITAMIX_RECOMMEND_KEEP_BATCHES', fallback: 3, min: 2, max: 100 },
  recommendFallbackRefreshHours: { variable: 'MOOVITAMIX_RECOMMEND_FALLBACK_REFRESH_HOURS', fallback: 168, min: 0, max: 8760 },
  recommendMaxOverlays: { variable: 'MOOVITAMIX_RECOMMEND_MAX_OVERLAYS', fallback: 4, min: 0, max: 16 },
  recommendSpares: { variable: 'MOOVITAMIX_RECOMMEND_SPARES', fallback: 5, min: 0, max: 100 },
  genreBoost: { variable: 'MOOVITAMIX_COLD_START_GENRE_BOOST', fallback: 3, min: 1, max: 1000 },
  scoringThreads: { variable: 'MOOVITAMIX_SCORING_THREADS', fallback: 0, min: 0, max: 256 },
  stagingThreads: { variable: 'MOOVITAMIX_STAGING_THREADS', fallback: 0, min: 0, max: 256 },
  evalMaxUsers: { variable: 'MOOVITAMIX_EVAL_MAX_USERS', fallback: 10_000, min: 10, max: 10_000_000 },
  trainingThreads: { variable: 'MOOVITAMIX_TRAINING_THREADS', fallback: 0, min: 0, max: 256 },
  keepSnapshots: { variable: 'MOOVITAMIX_KEEP_SNAPSHOTS', fallback: 3, min: 1, max: 1000 },
  tuneBudgetS: { variable: 'MOOVITAMIX_RETRAIN_TUNE_BUDGET_S', fallback: 600, min: 0, max: 86_400 },
  trainingMemoryMb: { variable: 'MOOVITAMIX_TRAINING_MEMORY_MB', fallback: 0, min: 0, max: 16_777_216 },
} as const;

/** Fractions read from the environment, with their default and bounds. */
const fractions = {
  canaryShare: { variable: 'MOOVITAMIX_CANARY_SHARE', fallback: 0, min: 0, max: 0.5 },
  recommendMaxOverlayShare: { variable: 'MOOVITAMIX_RECOMMEND_MAX_OVERLAY_SHARE', fallback: 0.25, min: 0, max: 1 },
  minUplift: { variable: 'MOOVITAMIX_PROMOTE_MIN_UPLIFT', fallback: 0.02, min: 0, max: 10 },
  minCoverage: { variable: 'MOOVITAMIX_PROMOTE_MIN_COVERAGE', fallback: 0.05, min: 0, max: 1 },
  driftPsi: { variable: 'MOOVITAMIX_DRIFT_PSI', fallback: 0.2, min: 0, max: 100 },
  driftMetricDrop: { variable: 'MOOVITAMIX_DRIFT_METRIC_DROP', fallback: 0.1, min: 0, max: 1 },
} as const;

/**
 * Reads and validates the configuration. Every bad variable is reported at once,
 * by name, so a misconfigured worker fails at start-up, not at its first activity.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const read = (rule: Rule, fallback: string): string => {
    const raw = env[rule.variable];
    const value = raw === undefined || raw === '' ? fallback : raw.trim();
    const result = v.safeParse(rule.schema, value);
    if (result.success) return result.output;
    // A malformed value can defeat redaction (mongodb:/user:pw@host), so a secret's value is never shown.
    const shown = rule.secret ? 'value not shown: it may hold credentials' : `got ${JSON.stringify(value)}`;
    problems.push(`${result.issues[0].message} (${shown})`);
    return fallback;
  };

  const optional = (rule: Rule): string | undefined => {
    const raw = env[rule.variable];
    return raw === undefined || raw.trim() === '' ? undefined : read(rule, '');
  };
  const mongodbPort = Number(read(rules.mongodbPort, rules.mongodbPort.fallback));
  const whole = ({ variable, fallback, min, max }: (typeof numbers)[keyof typeof numbers]): number => {
    const raw = env[variable];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw.trim());
    if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
      problems.push(`${variable} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return n;
  };
  const candidates = trainingCandidatesFromEnv(env);
  problems.push(...candidates.problems);
  const fraction = ({ variable, fallback, min, max }: (typeof fractions)[keyof typeof fractions]): number => {
    const raw = env[variable];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw.trim());
    if (!/^(?:\d{1,3}(?:\.\d{1,6})?|\.\d{1,6})$/.test(raw.trim()) || n < min || n > max) {
      problems.push(`${variable} must be a number from ${min} to ${max}, e.g. 0.1 (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return n;
  };
  const config: Config = {
    apiUrl: read(rules.apiUrl, rules.apiUrl.fallback).replace(/\/+$/, ''),
    mongodbUri: read(rules.mongodbUri, localMongoUri(mongodbPort)),
    mongodbUriFromEnv: Boolean(env.MONGODB_URI),
    mongodbDb: read(rules.mongodbDb, rules.mongodbDb.fallback),
    mongodbPort,
    temporalAddress: read(rules.temporalAddress, rules.temporalAddress.fallback),
    temporalNamespace: read(rules.temporalNamespace, rules.temporalNamespace.fallback),
    taskQueue: read(rules.taskQueue, rules.taskQueue.fallback),
    dataDir: absolute(read(rules.dataDir, defaultDataDir())),
    cacheDir: absolute(read(rules.cacheDir, defaultCacheDir(env))),
    workerHeapMb: whole(numbers.workerHeapMb),
    alertWebhookUrl: optional(rules.alertWebhookUrl),
    metricsPort: whole(numbers.metricsPort),
    metricsHost: read(rules.metricsHost, rules.metricsHost.fallback),
    quality: undefined as unknown as QualitySettings,
    qualityConfigPath: optional(rules.qualityConfigPath),
    recommend: {
      k: whole(numbers.recommendK),
      chunkSize: whole(numbers.recommendChunkSize),
      keepBatches: whole(numbers.recommendKeepBatches),
      fallbackRefreshHours: whole(numbers.recommendFallbackRefreshHours),
      maxOverlays: whole(numbers.recommendMaxOverlays),
      maxOverlayShare: fraction(fractions.recommendMaxOverlayShare),
      spares: whole(numbers.recommendSpares),
      genreBoost: whole(numbers.genreBoost),
      // 0: one per core.
      threads: whole(numbers.scoringThreads) || Math.max(1, availableParallelism()),
    },
    training: {
      ...candidates.settings,
      minUplift: fraction(fractions.minUplift),
      minCoverage: fraction(fractions.minCoverage),
      driftPsi: fraction(fractions.driftPsi),
      driftMetricDrop: fraction(fractions.driftMetricDrop),
      evalMaxUsers: whole(numbers.evalMaxUsers),
      // 0: one per core.
      threads: whole(numbers.trainingThreads) || Math.max(1, availableParallelism()),
      keepSnapshots: whole(numbers.keepSnapshots),
      tuneBudgetS: whole(numbers.tuneBudgetS),
      // 0: half the machine's memory.
      memoryMb: whole(numbers.trainingMemoryMb) || defaultTrainingSettings().memoryMb,
    },
    canaryShare: fraction(fractions.canaryShare),
    http: {
      timeoutMs: whole(numbers.httpTimeoutMs),
      maxAttempts: whole(numbers.httpMaxAttempts),
      backoffMs: whole(numbers.httpBackoffMs),
      maxResponseBytes: whole(numbers.maxResponseBytes),
    },
    // 0: one per core.
    stagingThreads: whole(numbers.stagingThreads) || Math.max(1, availableParallelism()),
  };
  try {
    config.quality = loadQualitySettings(config.qualityConfigPath);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return config;
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

/** The configuration as safe to print: credentials hidden. */
export function describeConfig(config: Config): Record<string, string> {
  return {
    MOOVITAMIX_API_URL: config.apiUrl,
    MONGODB_URI: redactUri(config.mongodbUri),
    MONGODB_DB: config.mongodbDb,
    MOOVITAMIX_MONGODB_PORT: String(config.mongodbPort),
    TEMPORAL_ADDRESS: config.temporalAddress,
    TEMPORAL_NAMESPACE: config.temporalNamespace,
    TEMPORAL_TASK_QUEUE: config.taskQueue,
    MOOVITAMIX_DATA_DIR: config.dataDir,
    MOOVITAMIX_CACHE_DIR: config.cacheDir,
    MOOVITAMIX_HTTP_TIMEOUT_MS: String(config.http.timeoutMs),
    MOOVITAMIX_HTTP_MAX_ATTEMPTS: String(config.http.maxAttempts),
    MOOVITAMIX_HTTP_BACKOFF_MS: String(config.http.backoffMs),
    MOOVITAMIX_MAX_RESPONSE_BYTES: String(config.http.maxResponseBytes),
    MOOVITAMIX_WORKER_HEAP_MB: String(config.workerHeapMb),
    MOOVITAMIX_METRICS_PORT: String(config.metricsPort),
    MOOVITAMIX_METRICS_HOST: config.metricsHost,
    MOOVITAMIX_QUALITY_CONFIG: config.qualityConfigPath ?? '(defaults)',
    MOOVITAMIX_RECOMMEND_K: String(config.recommend.k),
    MOOVITAMIX_RECOMMEND_CHUNK_SIZE: String(config.recommend.chunkSize),
    MOOVITAMIX_RECOMMEND_KEEP_BATCHES: String(config.recommend.keepBatches),
    MOOVITAMIX_RECOMMEND_FALLBACK_REFRESH_HOURS: String(config.recommend.fallbackRefreshHours),
    MOOVITAMIX_RECOMMEND_MAX_OVERLAYS: String(config.recommend.maxOverlays),
    MOOVITAMIX_RECOMMEND_MAX_OVERLAY_SHARE: String(config.recommend.maxOverlayShare),
    MOOVITAMIX_RECOMMEND_SPARES: String(config.recommend.spares),
    MOOVITAMIX_COLD_START_GENRE_BOOST: String(config.recommend.genreBoost),
    MOOVITAMIX_SCORING_THREADS: String(config.recommend.threads),
    MOOVITAMIX_STAGING_THREADS: String(config.stagingThreads),
    MOOVITAMIX_RETRAIN_FAMILIES: config.training.families.join(','),
    MOOVITAMIX_RETRAIN_PARAMS:
      Object.entries(config.training.params)
        .flatMap(([f, p]) => Object.entries(p).map(([k, v]) => `${f}.${k}=${v}`))
        .join(',') || '(defaults)',
    MOOVITAMIX_PROMOTE_MIN_UPLIFT: String(config.training.minUplift),
    MOOVITAMIX_PROMOTE_MIN_COVERAGE: String(config.training.minCoverage),
    MOOVITAMIX_DRIFT_PSI: String(config.training.driftPsi),
    MOOVITAMIX_DRIFT_METRIC_DROP: String(config.training.driftMetricDrop),
    MOOVITAMIX_EVAL_MAX_USERS: String(config.training.evalMaxUsers),
    MOOVITAMIX_TRAINING_THREADS: String(config.training.threads),
    MOOVITAMIX_KEEP_SNAPSHOTS: String(config.training.keepSnapshots),
    MOOVITAMIX_RETRAIN_TUNE_BUDGET_S: String(config.training.tuneBudgetS),
    MOOVITAMIX_TRAINING_MEMORY_MB: String(config.training.memoryMb),
    MOOVITAMIX_CANARY_SHARE: String(config.canaryShare),
    ALERT_WEBHOOK_URL: config.alertWebhookUrl ? 'set (not shown: it is a credential)' : 'not set',
  };
}
