import { isAbsolute, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import type { RecommendSettings } from './recommendSettings.js';
import { trainingCandidatesFromEnv, type TrainingSettings } from './trainingSettings.js';
import { readSetting, setAt, SETTINGS, valueAt, type Setting } from './settings.js';
import { readTracingSettings, type TracingSettings } from './tracing.js';
import { readTemporalProfile, temporalConnection, type TemporalConnection } from './temporalConnection.js';
import { defaultTrainingMemoryMb } from '../models/trainingMemory.js';
import { loadQualitySettings, type QualitySettings } from './quality.js';
import { defaultCacheDir, defaultDataDir } from './paths.js';

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
  /** TEMPORAL_ADDRESS, else the Temporal profile's address, else the local dev server. */
  temporalAddress: string;
  /** TEMPORAL_NAMESPACE, else the profile's, else `default`. */
  temporalNamespace: string;
  /** How to connect to Temporal (config/temporalConnection.ts): holds credentials, printed only through describeConfig. */
  temporal: TemporalConnection;
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
  /** OpenTelemetry tracing (config/tracing.ts): off unless OTEL_* variables ask for it. */
  tracing: TracingSettings;
}

/** The server the dev stack starts, when MONGODB_URI is not set. */
export function localMongoUri(port: number, host = '127.0.0.1'): string {
  return `mongodb://${host}:${port}/?directConnection=true`;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads and validates the configuration, setting by setting as config/settings.ts lists
 * them. Every bad variable is reported at once, by name, so a misconfigured worker fails
 * at start-up, not at its first activity.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const config = {} as Config;
  for (const setting of SETTINGS) {
    if (setting.path && setting.kind !== 'other') setAt(config, setting.path, readSetting(setting, env, problems));
  }
  const candidates = trainingCandidatesFromEnv(env);
  problems.push(...candidates.problems);
  Object.assign(config.training, candidates.settings);
  // Defaults that depend on the machine or on another setting.
  config.apiUrl = config.apiUrl.replace(/\/+$/, '');
  config.mongodbUriFromEnv = Boolean(env.MONGODB_URI);
  config.mongodbUri ??= localMongoUri(config.mongodbPort);
  config.dataDir = absolute(config.dataDir ?? defaultDataDir());
  config.cacheDir = absolute(config.cacheDir ?? defaultCacheDir(env));
  const perCore = (threads: number) => threads || Math.max(1, availableParallelism());
  config.recommend.threads = perCore(config.recommend.threads);
  config.training.threads = perCore(config.training.threads);
  config.stagingThreads = perCore(config.stagingThreads);
  config.training.memoryMb ||= defaultTrainingMemoryMb();
  try {
    // Temporal's environment configuration: the variables above win over a profile's file.
    const { profile, name } = readTemporalProfile(env);
    const fromProfile = (variable: string, key: string, value: string) =>
      checkedText(variable, value, problems, `Temporal profile ${name ?? 'default'}: ${key}`);
    if (!env.TEMPORAL_ADDRESS?.trim() && profile.address) config.temporalAddress = fromProfile('TEMPORAL_ADDRESS', 'address', profile.address);
    if (!env.TEMPORAL_NAMESPACE?.trim() && profile.namespace) config.temporalNamespace = fromProfile('TEMPORAL_NAMESPACE', 'namespace', profile.namespace);
    config.temporal = temporalConnection(profile, name);
  } catch (err) {
    problems.push((err as Error).message);
  }
  config.tracing = readTracingSettings(env, problems);
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

/** A value of the Temporal profile, checked by its variable's rule (config/settings.ts), and reported as `where`. */
function checkedText(variable: string, value: string, problems: string[], where: string): string {
  const setting = SETTINGS.find((s) => s.variable === variable) as Setting;
  const before = problems.length;
  const checked = readSetting(setting, { [variable]: value }, problems) as string;
  for (let i = before; i < problems.length; i++) problems[i] = (problems[i] as string).replaceAll(variable, where);
  return checked;
}

function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(path);
}

/** How recommendations are computed with every variable at its default (config/settings.ts). */
export function defaultRecommendSettings(): RecommendSettings {
  return loadConfig({}).recommend;
}

/** How models are trained with every variable at its default (config/settings.ts). */
export function defaultTrainingSettings(): TrainingSettings {
  return loadConfig({}).training;
}

/** The configuration as safe to print, variable by variable: credentials hidden. */
export function describeConfig(config: Config): Record<string, string> {
  return Object.fromEntries(
    SETTINGS.filter((s) => s.path).map((s) => {
      const value = valueAt(config, s.path as string);
      return [s.variable, s.describe ? s.describe(value) : String(value)];
    }),
  );
}
