import * as v from 'valibot';
import { redactUri } from './redact.js';
import { DEFAULT_FAMILIES } from './trainingSettings.js';
import { describeTls, type TemporalConnection } from './temporalConnection.js';

/*
 * Every environment variable the product reads, once: its parser and bounds, its default,
 * whether it is a secret, where it lands in the configuration, and its line in
 * docs/configuration.md. loadConfig reads through this table, describeConfig prints
 * through it, the settings' defaults are the table's, and the documentation's table is
 * generated from it (test/unit/docs.test.ts fails when they differ).
 */

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

const notEmpty = (name: string) => v.pipe(v.string(), v.minLength(1, `${name} must not be empty`));

/** How a variable is read. `other`: by code of its own (a list, a file, one process's flag). */
export type SettingKind =
  | { kind: 'text'; fallback: string | undefined; schema: v.GenericSchema<string, string> }
  | { kind: 'whole'; fallback: number; min: number; max: number }
  | { kind: 'fraction'; fallback: number; min: number; max: number }
  | { kind: 'other' };

export type Setting = SettingKind & {
  variable: string;
  /** Where the value lands in the configuration (a dotted path); absent: read by one process on its own. */
  path?: string;
  /** The default as the documentation shows it. */
  shown: string;
  /** Its line in docs/configuration.md. */
  doc: string;
  /** It may hold credentials: its value is never printed or echoed in an error. */
  secret?: boolean;
  /** How describeConfig prints the value (default: as text). */
  describe?: (value: unknown) => string;
};

const wholeSetting = (variable: string, path: string, fallback: number, min: number, max: number, doc: string, shown = `\`${fallback}\``): Setting => ({
  kind: 'whole',
  variable,
  path,
  fallback,
  min,
  max,
  shown,
  doc,
});
const fractionSetting = (variable: string, path: string, fallback: number, min: number, max: number, doc: string): Setting => ({
  kind: 'fraction',
  variable,
  path,
  fallback,
  min,
  max,
  shown: `\`${fallback}\``,
  doc,
});

export const SETTINGS: readonly Setting[] = [
  {
    kind: 'text',
    variable: 'MOOVITAMIX_API_URL',
    path: 'apiUrl',
    fallback: 'http://127.0.0.1:8000',
    schema: httpUrl('MOOVITAMIX_API_URL'),
    shown: '`http://127.0.0.1:8000`',
    doc: 'base URL of the Moovitamix API (http or https)',
  },
  {
    kind: 'text',
    variable: 'MONGODB_URI',
    path: 'mongodbUri',
    fallback: undefined,
    secret: true,
    schema: v.pipe(v.string(), v.regex(/^mongodb(\+srv)?:\/\/[^\s]+$/, 'MONGODB_URI must start with mongodb:// or mongodb+srv://')),
    shown: '`mongodb://127.0.0.1:27017/?directConnection=true`',
    doc: 'MongoDB server; when set, the stack starts no MongoDB server',
    describe: (value) => redactUri(String(value)),
  },
  {
    kind: 'text',
    variable: 'MONGODB_DB',
    path: 'mongodbDb',
    fallback: 'moovitamix',
    schema: v.pipe(v.string(), v.regex(mongoDbName, 'MONGODB_DB must be 1-63 characters, none of /\\. "$*<>:|?')),
    shown: '`moovitamix`',
    doc: 'database name',
  },
  {
    kind: 'text',
    variable: 'TEMPORAL_ADDRESS',
    path: 'temporalAddress',
    fallback: '127.0.0.1:7233',
    schema: v.pipe(
      v.string(),
      v.regex(hostPort, 'TEMPORAL_ADDRESS must be host:port'),
      v.check((s) => {
        const port = Number(hostPort.exec(s)?.[1]);
        return port >= 1 && port <= 65535;
      }, 'TEMPORAL_ADDRESS port must be 1-65535'),
    ),
    shown: '`127.0.0.1:7233`',
    doc: 'Temporal frontend, host:port',
  },
  {
    kind: 'text',
    variable: 'TEMPORAL_NAMESPACE',
    path: 'temporalNamespace',
    fallback: 'default',
    schema: v.pipe(v.string(), v.regex(temporalName, 'TEMPORAL_NAMESPACE must be letters, digits, ".", "_" or "-"')),
    shown: '`default`',
    doc: 'Temporal namespace',
  },
  {
    kind: 'text',
    variable: 'TEMPORAL_TASK_QUEUE',
    path: 'taskQueue',
    fallback: 'moovitamix',
    schema: v.pipe(v.string(), v.regex(temporalName, 'TEMPORAL_TASK_QUEUE must be letters, digits, ".", "_" or "-"')),
    shown: '`moovitamix`',
    doc: 'task queue of the workers',
  },
  {
    kind: 'other',
    variable: 'TEMPORAL_CONFIG_FILE',
    shown: '`~/.config/temporalio/temporal.toml` when it exists',
    doc: "Temporal's client configuration file (TOML, shared with the `temporal` CLI): profiles of address, namespace, API key and TLS; the variables here win over it",
  },
  {
    kind: 'other',
    variable: 'TEMPORAL_PROFILE',
    path: 'temporal.profile',
    shown: '`default`',
    doc: 'the profile of that file to use',
    describe: (value) => (value === undefined ? '(no configuration file)' : String(value)),
  },
  {
    kind: 'other',
    variable: 'TEMPORAL_API_KEY',
    path: 'temporal.apiKey',
    secret: true,
    shown: '(none)',
    doc: 'API key (Temporal Cloud); turns TLS on; a credential, never shown',
    describe: (value) => (value === undefined ? 'not set' : 'set (not shown: it is a credential)'),
  },
  {
    kind: 'other',
    variable: 'TEMPORAL_TLS',
    path: 'temporal.tls',
    shown: 'off, on with an API key or certificates',
    doc: '`true` connects with TLS (the system CAs unless a server CA is given), `false` forces it off',
    describe: (value) => describeTls(value as TemporalConnection['tls']),
  },
  {
    kind: 'other',
    variable: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
    shown: '(none)',
    doc: 'client certificate (PEM) for mutual TLS; `TEMPORAL_TLS_CLIENT_CERT_DATA` gives it inline',
  },
  {
    kind: 'other',
    variable: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
    secret: true,
    shown: '(none)',
    doc: "the client certificate's private key (PEM); `TEMPORAL_TLS_CLIENT_KEY_DATA` gives it inline; never shown",
  },
  {
    kind: 'other',
    variable: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    shown: '(the system CAs)',
    doc: "CA certificate (PEM) the server's certificate must chain to; `TEMPORAL_TLS_SERVER_CA_CERT_DATA` gives it inline",
  },
  {
    kind: 'other',
    variable: 'TEMPORAL_TLS_SERVER_NAME',
    shown: "the address's host",
    doc: "name the server's certificate must carry, when it is not the address's host",
  },
  { kind: 'other', variable: 'TEMPORAL_UI_URL', shown: 'gRPC port + 1000 on a local server', doc: 'where the CLI points you to see a run' },
  wholeSetting('MOOVITAMIX_HTTP_TIMEOUT_MS', 'http.timeoutMs', 30_000, 100, 600_000, 'timeout of one request to the API'),
  wholeSetting('MOOVITAMIX_HTTP_MAX_ATTEMPTS', 'http.maxAttempts', 5, 1, 20, 'requests per page before the activity attempt fails (then Temporal retries it)'),
  wholeSetting('MOOVITAMIX_HTTP_BACKOFF_MS', 'http.backoffMs', 500, 0, 60_000, 'first retry backoff (doubled each time, full jitter, up to 15 s)'),
  wholeSetting('MOOVITAMIX_MAX_RESPONSE_BYTES', 'http.maxResponseBytes', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024, 'larger answers are refused'),
  wholeSetting('MOOVITAMIX_WORKER_HEAP_MB', 'workerHeapMb', 256, 64, 65536, 'V8 heap limit of the worker the stack starts (keeps its memory flat)'),
  {
    kind: 'other',
    variable: 'MOOVITAMIX_LOG_LEVEL',
    shown: '`INFO`',
    doc: 'worker log level: `TRACE`, `DEBUG` (adds one line per page), `INFO`, `WARN`, `ERROR`',
  },
  {
    kind: 'text',
    variable: 'MOOVITAMIX_DATA_DIR',
    path: 'dataDir',
    fallback: undefined,
    schema: notEmpty('MOOVITAMIX_DATA_DIR'),
    shown: '`./.data`',
    doc: "the dev stack's databases, logs and pid files",
  },
  {
    kind: 'text',
    variable: 'MOOVITAMIX_CACHE_DIR',
    path: 'cacheDir',
    fallback: undefined,
    schema: notEmpty('MOOVITAMIX_CACHE_DIR'),
    shown: '`$XDG_CACHE_HOME/moovitamix` or `~/.cache/moovitamix`',
    doc: 'built server binaries (and the test browser), shared by every clone',
  },
  wholeSetting('MOOVITAMIX_MONGODB_PORT', 'mongodbPort', 27017, 1, 65535, 'port of the MongoDB server the stack starts (and of the default `MONGODB_URI`)'),
  wholeSetting(
    'MOOVITAMIX_METRICS_PORT',
    'metricsPort',
    9464,
    0,
    65535,
    "port on 127.0.0.1 of the worker's Prometheus endpoint; `0` turns it off. Taken by another process (a second worker on the machine), the worker serves on the next free one of the 9 after it, or none, and says which in its first log line",
  ),
  {
    kind: 'text',
    variable: 'MOOVITAMIX_METRICS_HOST',
    path: 'metricsHost',
    fallback: '127.0.0.1',
    schema: v.pipe(v.string(), v.regex(/^[A-Za-z0-9.:-]{1,253}$/, 'MOOVITAMIX_METRICS_HOST must be a host name or IP address')),
    shown: '`127.0.0.1`',
    doc: "interface the metrics endpoint binds (the compose file sets `0.0.0.0` inside the container and publishes the port on the host's 127.0.0.1)",
  },
  {
    kind: 'text',
    variable: 'MOOVITAMIX_QUALITY_CONFIG',
    path: 'qualityConfigPath',
    fallback: undefined,
    schema: notEmpty('MOOVITAMIX_QUALITY_CONFIG'),
    shown: '(defaults)',
    doc: 'JSON file of check severities and thresholds, the gate and alert rules (see [Pipeline health](health.md))',
    describe: (value) => (value === undefined ? '(defaults)' : String(value)),
  },
  wholeSetting('MOOVITAMIX_RECOMMEND_K', 'recommend.k', 20, 1, 100, 'tracks stored per user (1..100)'),
  wholeSetting('MOOVITAMIX_RECOMMEND_CHUNK_SIZE', 'recommend.chunkSize', 5000, 100, 20_000, 'users per scoring activity'),
  wholeSetting(
    'MOOVITAMIX_RECOMMEND_KEEP_BATCHES',
    'recommend.keepBatches',
    3,
    2,
    100,
    'published batches kept (at least 2, for rollback); the batches a kept overlay reads through are kept too',
  ),
  wholeSetting(
    'MOOVITAMIX_RECOMMEND_FALLBACK_REFRESH_HOURS',
    'recommend.fallbackRefreshHours',
    168,
    0,
    8760,
    "hours an incremental run reuses the auto MostPopular fallback (while no champion exists) before fitting it again on today's listens (0..8760; 0: every run, as a full run always does). See [Recommendations](recommendations.md#the-fallback-model)",
  ),
  wholeSetting(
    'MOOVITAMIX_RECOMMEND_MAX_OVERLAYS',
    'recommend.maxOverlays',
    4,
    0,
    16,
    'overlay batches a published batch may read through before a full batch is written again (0..16; 0: every batch full); a request reads at most this plus one documents',
  ),
  wholeSetting(
    'MOOVITAMIX_RECOMMEND_SPARES',
    'recommend.spares',
    5,
    0,
    100,
    'tracks a list stores beyond k, served only in place of tracks deleted since: a deleted track then recomputes only the lists left with fewer than k live tracks (0..100; see [Recommendations](recommendations.md#deleted-tracks-masks-and-spares))',
  ),
  fractionSetting(
    'MOOVITAMIX_RECOMMEND_MAX_OVERLAY_SHARE',
    'recommend.maxOverlayShare',
    0.25,
    0,
    1,
    'share of live users the overlays of a chain may hold together (lists and removal markers) before a full batch is written again (0..1)',
  ),
  wholeSetting(
    'MOOVITAMIX_COLD_START_GENRE_BOOST',
    'recommend.genreBoost',
    3,
    1,
    1000,
    "a cold-start track of the user's favourite genre counts its listens this many times",
  ),
  wholeSetting('MOOVITAMIX_SCORING_THREADS', 'recommend.threads', 0, 0, 256, 'scoring threads per worker process', '`0` (one per core)'),
  wholeSetting(
    'MOOVITAMIX_STAGING_THREADS',
    'stagingThreads',
    0,
    0,
    256,
    'threads per worker process that read, validate, hash and compress the pages the ingest fetches (see [Ingest](ingest.md))',
    '`0` (one per core)',
  ),
  {
    kind: 'other',
    variable: 'MOOVITAMIX_RETRAIN_FAMILIES',
    path: 'training.families',
    shown: `\`${DEFAULT_FAMILIES.join(',')}\``,
    doc: 'candidate families a retraining trains',
    describe: (value) => (value as string[]).join(','),
  },
  {
    kind: 'other',
    variable: 'MOOVITAMIX_RETRAIN_PARAMS',
    path: 'training.params',
    shown: '(defaults)',
    doc: 'hyper-parameters, `family.name=value,...` (e.g. `als.factors=128,item-knn.similarity=bm25`); validated by the family',
    describe: (value) =>
      Object.entries(value as Record<string, Record<string, string>>)
        .flatMap(([f, p]) => Object.entries(p).map(([k, x]) => `${f}.${k}=${x}`))
        .join(',') || '(defaults)',
  },
  fractionSetting('MOOVITAMIX_PROMOTE_MIN_UPLIFT', 'training.minUplift', 0.02, 0, 10, "a candidate must beat the champion's NDCG@10 by this much, relative"),
  fractionSetting('MOOVITAMIX_PROMOTE_MIN_COVERAGE', 'training.minCoverage', 0.05, 0, 1, 'and keep catalogue coverage@20 at least this'),
  fractionSetting(
    'MOOVITAMIX_DRIFT_PSI',
    'training.driftPsi',
    0.2,
    0,
    100,
    'PSI of listens over tracks or genres past which the daily run starts a retraining',
  ),
  fractionSetting(
    'MOOVITAMIX_DRIFT_METRIC_DROP',
    'training.driftMetricDrop',
    0.1,
    0,
    1,
    "relative drop of the champion's NDCG@10 on today's data past which it does too",
  ),
  wholeSetting(
    'MOOVITAMIX_EVAL_MAX_USERS',
    'training.evalMaxUsers',
    10_000,
    10,
    10_000_000,
    'test users evaluated per split (a seeded sample when more qualify)',
  ),
  wholeSetting('MOOVITAMIX_TRAINING_THREADS', 'training.threads', 0, 0, 256, 'training and evaluation threads per worker', '`0` (one per core)'),
  wholeSetting('MOOVITAMIX_KEEP_SNAPSHOTS', 'training.keepSnapshots', 3, 1, 1000, 'training snapshots kept besides those a registered model was trained on'),
  wholeSetting(
    'MOOVITAMIX_TRAINING_MEMORY_MB',
    'training.memoryMb',
    0,
    0,
    16_777_216,
    'memory a fit may take: EASE refuses a catalogue whose dense matrices it would not hold (8 bytes per item pair; at most 32,000 items in any case), and says so',
    "`0` (half the machine's memory)",
  ),
  wholeSetting(
    'MOOVITAMIX_RETRAIN_TUNE_BUDGET_S',
    'training.tuneBudgetS',
    600,
    0,
    86_400,
    'seconds each candidate family may tune before its chosen setting is fitted (its grid searched on a validation split, see [Models](models.md)); `0`: no tuning, the configured parameters as they are',
  ),
  fractionSetting(
    'MOOVITAMIX_CANARY_SHARE',
    'canaryShare',
    0,
    0,
    0.5,
    "share of users (0 to 0.5) the API serves from the challenger's batch; 0 turns the canary off",
  ),
  {
    kind: 'other',
    variable: 'OTEL_TRACES_EXPORTER',
    path: 'tracing.exporter',
    shown: '`none` (`otlp` when an OTLP endpoint is set)',
    doc: 'OpenTelemetry tracing of the worker and the CLI: `otlp`, `console` or `none` (see [Operations](operations.md#tracing))',
  },
  {
    kind: 'other',
    variable: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    shown: '(none)',
    doc: 'OTLP/HTTP collector (e.g. `http://127.0.0.1:4318`); setting it turns tracing on. `OTEL_EXPORTER_OTLP_HEADERS` and the other standard OTLP variables are read too',
  },
  {
    kind: 'other',
    variable: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    shown: '(none)',
    doc: 'the full URL for traces alone (e.g. `http://127.0.0.1:4318/v1/traces`), over the one above',
  },
  {
    kind: 'other',
    variable: 'OTEL_SERVICE_NAME',
    shown: '`moovitamix-worker`, `moovitamix-cli`',
    doc: 'the service name of the spans (`OTEL_RESOURCE_ATTRIBUTES` adds attributes)',
  },
  {
    kind: 'other',
    variable: 'OTEL_SDK_DISABLED',
    shown: '`false`',
    doc: '`true` turns tracing off whatever else is set',
  },
  {
    kind: 'other',
    variable: 'MOOVITAMIX_DEBUG',
    shown: '(unset)',
    doc: 'when set, the CLI also prints the stack trace of an unexpected error (exit status 1)',
  },
  {
    kind: 'text',
    variable: 'ALERT_WEBHOOK_URL',
    path: 'alertWebhookUrl',
    fallback: undefined,
    secret: true,
    schema: httpUrl('ALERT_WEBHOOK_URL', true),
    shown: '(none)',
    doc: 'where alerts and the daily summary are POSTed (Slack-compatible JSON); a credential, never shown',
    describe: (value) => (value ? 'set (not shown: it is a credential)' : 'not set'),
  },
];

/** Reads one setting of kind text, whole or fraction from `env`; a bad value is reported in `problems` and gives the default. */
export function readSetting(setting: Setting, env: NodeJS.ProcessEnv, problems: string[]): string | number | undefined {
  if (setting.kind === 'other') throw new Error(`${setting.variable} is read by code of its own`);
  const raw = env[setting.variable];
  if (raw === undefined || raw.trim() === '') return setting.fallback;
  const text = raw.trim();
  if (setting.kind === 'text') {
    const result = v.safeParse(setting.schema, text);
    if (result.success) return result.output;
    // A malformed value can defeat redaction (mongodb:/user:pw@host), so a secret's value is never shown.
    const shown = setting.secret ? 'value not shown: it may hold credentials' : `got ${JSON.stringify(text)}`;
    problems.push(`${result.issues[0].message} (${shown})`);
    return setting.fallback;
  }
  const n = Number(text);
  const { min, max } = setting;
  if (setting.kind === 'whole') {
    if (/^\d+$/.test(text) && n >= min && n <= max) return n;
    problems.push(`${setting.variable} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
    return setting.fallback;
  }
  if (/^(?:\d{1,3}(?:\.\d{1,6})?|\.\d{1,6})$/.test(text) && n >= min && n <= max) return n;
  problems.push(`${setting.variable} must be a number from ${min} to ${max}, e.g. 0.1 (got ${JSON.stringify(raw)})`);
  return setting.fallback;
}

/** The table of docs/configuration.md, one row per setting. */
export function settingsTable(): string {
  return ['| variable | default | meaning |', '|---|---|---|', ...SETTINGS.map((s) => `| \`${s.variable}\` | ${s.shown} | ${s.doc} |`)].join('\n');
}

/** The value at a dotted path of an object. */
export function valueAt(object: object, path: string): unknown {
  return path.split('.').reduce<unknown>((o, key) => (o as Record<string, unknown> | undefined)?.[key], object);
}

/** Sets the value at a dotted path, creating the objects on the way. */
export function setAt(object: object, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = object as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) o = (o[key] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1] as string] = value;
}
