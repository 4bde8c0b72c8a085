import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { RATE_CHECKS, type RateCheck } from '../contracts/health.js';

/*
 * How strict the health checks and alert rules are. Defaults below; a JSON file named by
 * MOOVITAMIX_QUALITY_CONFIG overrides any part of them (see docs/health.md).
 * Severities follow dbt: `error` lets a check fail, `warn` caps it at a warning, `off`
 * skips it.
 */

export type Severity = 'error' | 'warn' | 'off';

/** A check on a rate (offending records / records looked at). */
export interface RateCheckSettings {
  severity: Severity;
  /** Above this rate the check warns. */
  warnAbove: number;
  /** Above this rate a check of severity `error` fails. */
  failAbove: number;
}

export interface FreshnessSettings {
  severity: Severity;
  /** The newest `updated_at` older than this many days before the run date: warn. */
  warnAfterDays: number;
  failAfterDays: number;
}

export interface VolumeSettings {
  severity: Severity;
  /** Successful runs compared against (the most recent first). */
  lookback: number;
  /** With at least 4 earlier runs: robust z-score |0.6745 (x - median) / MAD| above these. */
  warnZ: number;
  failZ: number;
  /** With fewer runs: relative change against the previous run's count above these. */
  warnChange: number;
  failChange: number;
}

export interface AlertSettings {
  /** A run slower than this many times the median of recent runs raises `slow_run`. */
  slowFactor: number;
  /** Completed runs the median is taken over (at least 3 are needed). */
  slowLookback: number;
  /** Retries / requests of a source above this raises `retry_rate`. */
  maxRetryRate: number;
  /** Invalid / fetched records of a source above this raises `error_rate`. */
  maxErrorRate: number;
  /** Days before the run date searched for dates without any run (`missed_run`). */
  missedRunDays: number;
}

export interface QualitySettings {
  /** `error`: a failing check of severity error stops the run's downstream steps; `off`: nothing stops them. */
  gate: 'error' | 'off';
  checks: Record<RateCheck, RateCheckSettings> & { freshness: FreshnessSettings; volume: VolumeSettings };
  alerts: AlertSettings;
}

const rate = (severity: Severity, warnAbove: number, failAbove: number): RateCheckSettings => ({ severity, warnAbove, failAbove });

export function defaultQualitySettings(): QualitySettings {
  return {
    gate: 'error',
    checks: {
      not_null: rate('error', 0, 0.01),
      types: rate('error', 0, 0.01),
      accepted_values: rate('warn', 0, 0.01),
      unique_key: rate('warn', 0, 0.01),
      duplicate_rate: rate('error', 0, 0.05),
      missing_rate: rate('warn', 0.05, 0.5),
      orphan_users: rate('error', 0, 0.01),
      orphan_tracks: rate('error', 0, 0.01),
      reconcile_total: rate('error', 0, 0),
      reconcile_pages: rate('error', 0, 0),
      schema_drift: rate('warn', 0, 0.5),
      freshness: { severity: 'warn', warnAfterDays: 2, failAfterDays: 7 },
      volume: { severity: 'warn', lookback: 14, warnZ: 3.5, failZ: 7, warnChange: 0.5, failChange: 0.9 },
    },
    alerts: { slowFactor: 1.5, slowLookback: 10, maxRetryRate: 0.2, maxErrorRate: 0.01, missedRunDays: 7 },
  };
}

const severity = v.picklist(['error', 'warn', 'off'], 'severity must be error, warn or off');
const fraction = v.pipe(v.number('must be a number'), v.minValue(0, 'must be >= 0'), v.maxValue(1, 'must be <= 1'));
const positive = v.pipe(v.number('must be a number'), v.minValue(0, 'must be >= 0'));
const count = (max: number) =>
  v.pipe(v.number('must be a number'), v.integer('must be a whole number'), v.minValue(1, 'must be >= 1'), v.maxValue(max, `must be <= ${max}`));
const rateOverride = v.strictObject({ severity: v.optional(severity), warnAbove: v.optional(fraction), failAbove: v.optional(fraction) });

const overridesSchema = v.strictObject({
  gate: v.optional(v.picklist(['error', 'off'], 'gate must be error or off')),
  checks: v.optional(
    v.strictObject({
      ...Object.fromEntries(RATE_CHECKS.map((name) => [name, v.optional(rateOverride)])),
      freshness: v.optional(v.strictObject({ severity: v.optional(severity), warnAfterDays: v.optional(positive), failAfterDays: v.optional(positive) })),
      volume: v.optional(
        v.strictObject({
          severity: v.optional(severity),
          lookback: v.optional(count(100)),
          warnZ: v.optional(positive),
          failZ: v.optional(positive),
          warnChange: v.optional(positive),
          failChange: v.optional(positive),
        }),
      ),
    }),
  ),
  alerts: v.optional(
    v.strictObject({
      slowFactor: v.optional(positive),
      slowLookback: v.optional(count(100)),
      maxRetryRate: v.optional(fraction),
      maxErrorRate: v.optional(fraction),
      missedRunDays: v.optional(count(366)),
    }),
  ),
});

/** The defaults with the overrides applied, field by field; throws naming every bad setting. */
export function resolveQualitySettings(overrides: unknown, origin = 'quality settings'): QualitySettings {
  const parsed = v.safeParse(overridesSchema, overrides);
  if (!parsed.success) {
    const problems = parsed.issues.map((issue) => `${v.getDotPath(issue) ?? '(root)'}: ${issue.message}`);
    throw new Error(`Invalid ${origin}:\n  - ${problems.join('\n  - ')}`);
  }
  const settings = defaultQualitySettings();
  const o = parsed.output;
  if (o.gate) settings.gate = o.gate;
  for (const [name, value] of Object.entries(o.checks ?? {})) {
    const target = settings.checks[name as keyof QualitySettings['checks']] as unknown as Record<string, unknown>;
    for (const [key, setting] of Object.entries(value ?? {})) if (setting !== undefined) target[key] = setting;
  }
  for (const [key, setting] of Object.entries(o.alerts ?? {}))
    if (setting !== undefined) (settings.alerts as unknown as Record<string, unknown>)[key] = setting;
  return settings;
}

/** Reads MOOVITAMIX_QUALITY_CONFIG's file, or the defaults when no file is named. */
export function loadQualitySettings(path: string | undefined): QualitySettings {
  if (!path) return defaultQualitySettings();
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read MOOVITAMIX_QUALITY_CONFIG ${path}: ${(err as Error).message}`);
  }
  return resolveQualitySettings(json, `MOOVITAMIX_QUALITY_CONFIG ${path}`);
}
