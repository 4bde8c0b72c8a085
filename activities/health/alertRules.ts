import type { PipelineRunDocument } from '../../contracts/runs.js';
import { checkLabel, median } from './checks.js';
import type { AlertSettings } from '../../config/quality.js';
import type { QualityReportDocument } from '../../contracts/health.js';
import type { SourceName } from '../../contracts/names.js';
import type { AlertRule, AlertSeverity } from '../../contracts/health.js';

/** A rule whose condition holds for a run. `key` names the condition: the same key is the same alert. */
export interface AlertTrigger {
  key: string;
  rule: AlertRule;
  severity: AlertSeverity;
  source: SourceName | null;
  message: string;
}

const DAY_MS = 86_400_000;

function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Every alert rule, for a finished run: the conditions that hold. Pure, so each rule is
 * tested on crafted runs; `others` are the other runs on record (any status).
 */
export function evaluateRules(
  run: PipelineRunDocument,
  reports: QualityReportDocument[],
  others: PipelineRunDocument[],
  settings: AlertSettings,
): AlertTrigger[] {
  const triggers: AlertTrigger[] = [];
  const sources = Object.entries(run.sources) as [SourceName, NonNullable<PipelineRunDocument['sources'][SourceName]>][];

  const onlyRecommendationsFailed = run.recommendations?.status === 'failed' && sources.every(([, s]) => s.status !== 'FAILED');
  if (run.status === 'FAILED' && !onlyRecommendationsFailed) {
    const failed = sources.filter(([, s]) => s.status === 'FAILED').map(([name, s]) => `${name} (${s.error ?? 'failed'})`);
    triggers.push({
      key: 'run_failed',
      rule: 'run_failed',
      severity: 'critical',
      source: null,
      message: `Run ${run._id} for ${run.date} failed: ${failed.join('; ') || 'see the run record'}`,
    });
  }

  if (run.recommendations?.status === 'failed') {
    triggers.push({
      key: 'recommend_failed',
      rule: 'recommend_failed',
      severity: 'critical',
      source: null,
      message: `Recommendations of run ${run._id} failed, yesterday's batch is still served: ${run.recommendations.reason ?? 'see the run record'}`,
    });
  }

  // A date with no run at all, between the first run on record and this one.
  const dates = new Set(others.map((r) => r.date));
  dates.add(run.date);
  const first = [...dates].sort()[0] as string;
  for (let back = settings.missedRunDays; back >= 1; back--) {
    const day = addDays(run.date, -back);
    if (day >= first && !dates.has(day)) {
      triggers.push({
        key: `missed_run:${day}`,
        rule: 'missed_run',
        severity: 'critical',
        source: null,
        message: `No pipeline run for ${day}: the scheduled run is missing (run it with: moovitamix backfill --from ${day} --to ${day})`,
      });
    }
  }

  const earlier = others
    .filter((r) => r.status === 'COMPLETED' && r.duration_ms !== null && r._id !== run._id && r.date <= run.date)
    .sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0))
    .slice(0, settings.slowLookback)
    .map((r) => r.duration_ms as number);
  if (run.duration_ms !== null && earlier.length >= 3) {
    const m = median(earlier);
    if (run.duration_ms > settings.slowFactor * m) {
      triggers.push({
        key: 'slow_run',
        rule: 'slow_run',
        severity: 'warning',
        source: null,
        message: `Run ${run._id} took ${(run.duration_ms / 1000).toFixed(1)} s, over ${settings.slowFactor}x the median of the last ${earlier.length} runs (${(m / 1000).toFixed(1)} s)`,
      });
    }
  }

  for (const [name, s] of sources) {
    const retries = Object.values(s.retries).reduce((a, n) => a + n, 0);
    if (s.requests > 0 && retries / s.requests > settings.maxRetryRate) {
      const reasons = Object.entries(s.retries)
        .filter(([, n]) => n > 0)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ');
      triggers.push({
        key: `retry_rate:${name}`,
        rule: 'retry_rate',
        severity: 'warning',
        source: name,
        message: `${name}: ${retries} retries for ${s.requests} requests (${((retries / s.requests) * 100).toFixed(1)} %, above ${settings.maxRetryRate * 100} %): ${reasons}`,
      });
    }
    if (s.fetched > 0 && s.invalid / s.fetched > settings.maxErrorRate) {
      triggers.push({
        key: `error_rate:${name}`,
        rule: 'error_rate',
        severity: 'warning',
        source: name,
        message: `${name}: ${s.invalid} of ${s.fetched} records invalid (${((s.invalid / s.fetched) * 100).toFixed(2)} %, above ${settings.maxErrorRate * 100} %); see the quarantine collection`,
      });
    }
  }

  for (const report of reports) {
    for (const check of report.checks) {
      if (check.check === 'volume') {
        if (check.status !== 'pass') {
          triggers.push({
            key: `volume_anomaly:${report.source}`,
            rule: 'volume_anomaly',
            severity: check.status === 'fail' ? 'critical' : 'warning',
            source: report.source,
            message: `${report.source}: volume anomaly: ${check.message}`,
          });
        }
      } else if (check.status === 'fail') {
        const label = checkLabel(check);
        const samples = check.samples.length > 0 ? ` (e.g. ${check.samples.join(', ')})` : '';
        triggers.push({
          key: `check_failed:${report.source}:${label}`,
          rule: 'check_failed',
          severity: 'critical',
          source: report.source,
          message: `${report.source}: check ${label} failed: ${check.message}${samples}`,
        });
      }
    }
  }
  return triggers;
}
