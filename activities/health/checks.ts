import type { FreshnessSettings, QualitySettings, RateCheckSettings, VolumeSettings } from '../../config/quality.js';
import type { CheckResult, CheckStatus, StatusCounts } from '../../contracts/health.js';
import type { RecordProfiler } from '../ingest/profile.js';
import type { RateCheck } from '../../contracts/health.js';
import type { Tally } from '../../contracts/health.js';
import type { SourceSummary } from '../../contracts/ingest.js';

/*
 * Pure evaluation of the checks: measurements in, results out. The activity that
 * measures is checkSource.ts; these functions decide pass / warn / fail.
 */

const DAY_MS = 86_400_000;

function statusOf(severity: 'error' | 'warn', value: number, warnAbove: number, failAbove: number): CheckStatus {
  if (severity === 'error' && value > failAbove) return 'fail';
  return value > warnAbove ? 'warn' : 'pass';
}

/** A check on observed / total against its rate thresholds; null when the check is off. */
export function rateCheck(
  name: RateCheck,
  settings: RateCheckSettings,
  field: string | null,
  observed: number,
  total: number,
  samples: string[],
  describe: string,
): CheckResult | null {
  if (settings.severity === 'off') return null;
  const value = total > 0 ? observed / total : observed > 0 ? 1 : 0;
  const status = statusOf(settings.severity, value, settings.warnAbove, settings.failAbove);
  return {
    check: name,
    field,
    status,
    severity: settings.severity,
    observed,
    total,
    value,
    unit: 'rate',
    warnAbove: settings.warnAbove,
    failAbove: settings.failAbove,
    samples,
    message: `${observed} of ${total} ${describe} (${(value * 100).toFixed(2)} %)`,
  };
}

/** not_null, types, missing_rate and accepted_values, per field, from a profile of the run's records. */
export function fieldChecks(profiler: RecordProfiler, settings: QualitySettings['checks'], acceptedFields: string[]): CheckResult[] {
  const results: (CheckResult | null)[] = [];
  const per = (name: RateCheck, field: string, t: Tally, describe: string) =>
    results.push(rateCheck(name, settings[name], field, t.count, profiler.records, t.samples, describe));
  for (const [field, p] of Object.entries(profiler.fields)) {
    per('not_null', field, p.nulls, `records have ${field} absent or null`);
    per('types', field, p.wrongType, `records have ${field} of the wrong type or format`);
    per('missing_rate', field, p.missing, `records have ${field} missing (absent, null, "" or [])`);
    if (acceptedFields.includes(field)) per('accepted_values', field, p.unexpected, `records have ${field} outside its accepted values`);
  }
  return results.filter((r): r is CheckResult => r !== null);
}

/** unique_key, duplicate_rate, reconcile_total, reconcile_pages and schema_drift, from the run's statistics. */
export function summaryChecks(summary: SourceSummary, settings: QualitySettings['checks'], duplicatedKeys: Tally): CheckResult[] {
  const results: (CheckResult | null)[] = [];
  results.push(
    rateCheck(
      'unique_key',
      settings.unique_key,
      null,
      duplicatedKeys.count,
      summary.fetched,
      duplicatedKeys.samples,
      'records fetched: distinct keys served more than once',
    ),
  );
  results.push(
    rateCheck(
      'duplicate_rate',
      settings.duplicate_rate,
      null,
      summary.duplicates,
      summary.fetched,
      duplicatedKeys.samples,
      'records fetched are extra copies of a key',
    ),
  );

  const total = summary.totalAtStart ?? 0;
  // A total the API never gave (the probe failed) counts as a gap of at least one record.
  const gaps = [summary.totalAtStart, summary.totalAtEnd].filter((t): t is number => t !== null).map((t) => Math.abs(summary.fetched - t));
  const totalGap = summary.totalAtStart === null ? Math.max(1, summary.fetched) : Math.max(...gaps);
  const reconcile = rateCheck('reconcile_total', settings.reconcile_total, null, totalGap, total, [], 'records: fetched vs the API total');
  if (reconcile) {
    reconcile.message = `fetched ${summary.fetched}, API total ${summary.totalAtStart ?? '?'} at start and ${summary.totalAtEnd ?? '?'} at end${summary.error ? ` (source failed: ${summary.error})` : ''}`;
    results.push(reconcile);
  }
  const planned = summary.pagesPlanned ?? 0;
  const pageGap = summary.pagesPlanned === null ? Math.max(1, summary.pages) : Math.abs(summary.pagesPlanned - summary.pages);
  const pages = rateCheck('reconcile_pages', settings.reconcile_pages, null, pageGap, planned, [], 'pages');
  if (pages) {
    pages.message = `${summary.pages} pages stored of ${summary.pagesPlanned ?? '?'} the API announced`;
    results.push(pages);
  }

  const drifted = [
    ...Object.entries(summary.drift.added).map(([f, n]) => [`+${f}`, n] as const),
    ...Object.entries(summary.drift.missing).map(([f, n]) => [`-${f}`, n] as const),
  ];
  if (drifted.length === 0) {
    results.push(rateCheck('schema_drift', settings.schema_drift, null, 0, summary.fetched, [], 'records differ from the contract'));
  } else {
    for (const [field, n] of drifted) {
      const r = rateCheck(
        'schema_drift',
        settings.schema_drift,
        field.slice(1),
        n,
        summary.fetched,
        [field],
        `records have field ${field.slice(1)} ${field[0] === '+' ? 'added to' : 'missing from'} the contract`,
      );
      results.push(r);
    }
  }
  return results.filter((r): r is CheckResult => r !== null);
}

/** freshness: the newest timestamp against the run date (its midnight, UTC). */
export function freshnessCheck(settings: FreshnessSettings, field: string, newest: number | null, date: string): CheckResult | null {
  if (settings.severity === 'off') return null;
  const runDay = Date.parse(`${date}T00:00:00Z`);
  const days = newest === null ? Number.POSITIVE_INFINITY : Math.max(0, (runDay - newest) / DAY_MS);
  const status = statusOf(settings.severity, days, settings.warnAfterDays, settings.failAfterDays);
  return {
    check: 'freshness',
    field,
    status,
    severity: settings.severity,
    observed: Number.isFinite(days) ? Math.round(days * 100) / 100 : -1,
    total: null,
    value: Number.isFinite(days) ? days : Number.MAX_SAFE_INTEGER,
    unit: 'days',
    warnAbove: settings.warnAfterDays,
    failAbove: settings.failAfterDays,
    samples: [],
    message:
      newest === null ? `no ${field} in this run's records` : `newest ${field} is ${new Date(newest).toISOString()}, ${days.toFixed(1)} days before ${date}`,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * volume: today's count against earlier successful runs (most recent first). From 4 runs on,
 * a robust z-score on the median and the MAD (Iglewicz and Hoaglin); before that, the
 * relative change against the previous run. A MAD of 0 (every run the same size) is
 * floored at 1 % of the median, so a small change on a flat history is not infinite.
 */
export function volumeCheck(settings: VolumeSettings, today: number, history: number[]): CheckResult | null {
  if (settings.severity === 'off') return null;
  const base = { check: 'volume' as const, field: null, severity: settings.severity, observed: today, samples: [] as string[] };
  if (history.length === 0) {
    return {
      ...base,
      status: 'pass',
      total: null,
      value: 0,
      unit: 'change',
      warnAbove: settings.warnChange,
      failAbove: settings.failChange,
      message: `${today} records; no earlier successful run to compare with`,
    };
  }
  if (history.length < 4) {
    const previous = history[0] as number;
    const change = previous === 0 ? (today === 0 ? 0 : 1) : Math.abs(today - previous) / previous;
    return {
      ...base,
      status: statusOf(settings.severity, change, settings.warnChange, settings.failChange),
      total: previous,
      value: change,
      unit: 'change',
      warnAbove: settings.warnChange,
      failAbove: settings.failChange,
      message: `${today} records against ${previous} in the previous run (${(change * 100).toFixed(1)} % change)`,
    };
  }
  const m = median(history);
  const mad = Math.max(median(history.map((x) => Math.abs(x - m))), 0.01 * m, 1);
  const z = Math.abs((0.6745 * (today - m)) / mad);
  return {
    ...base,
    status: statusOf(settings.severity, z, settings.warnZ, settings.failZ),
    total: m,
    value: z,
    unit: 'z',
    warnAbove: settings.warnZ,
    failAbove: settings.failZ,
    message: `${today} records against a median of ${m} over ${history.length} runs (robust z ${z.toFixed(2)})`,
  };
}

export function countStatuses(results: { status: CheckStatus }[]): StatusCounts {
  const counts: StatusCounts = { pass: 0, warn: 0, fail: 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}

export function worst(statuses: CheckStatus[]): CheckStatus {
  return statuses.includes('fail') ? 'fail' : statuses.includes('warn') ? 'warn' : 'pass';
}

export const checkLabel = (r: Pick<CheckResult, 'check' | 'field'>): string => (r.field ? `${r.check}:${r.field}` : r.check);
