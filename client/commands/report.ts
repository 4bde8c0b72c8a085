import { parseArgs } from 'node:util';
import { feedbackSummary, type FeedbackSummary } from '../../stores/feedback/summary.js';
import type { CheckResult, QualityReportDocument } from '../../contracts/health.js';
import type { PipelineRunDocument } from '../../contracts/runs.js';
import { loadConfig } from '../../config/config.js';
import { table } from '../format.js';
import { withDb } from '../mongo.js';
import { healthLine } from '../pipelineRuns.js';
import { UsageError } from '../../config/usageError.js';
import { RUNS_COLLECTION } from '../../stores/runs.js';
import { runsCollection } from '../../stores/runs.js';
import { qualityReportsCollection } from '../../stores/qualityReports.js';

export const REPORT_USAGE = `Usage: moovitamix report [--run RUN] [--all] [--json]
       moovitamix report --feedback [--json]

The quality report of a run (default: the newest): per source, the checks that warn or
fail with their severity, counts, thresholds and sample keys (--all: every check), then
the run's KPIs, then live feedback per model version: impressions, plays, likes,
CTR (plays / impressions) and like rate (likes / impressions), all time and per day over
the last 14 days. --feedback prints the feedback alone (no run needed). --json prints
everything.
Reads pipeline_runs, quality_reports and feedback_counts.`;

export const RUN_ID = /^[A-Za-z0-9._:/-]{1,200}$/;

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      run: { type: 'string' },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      feedback: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(REPORT_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`report takes no positional arguments (use --run RUN), got: ${positionals.join(' ')}`);
  if (values.run !== undefined && !RUN_ID.test(values.run)) throw new UsageError(`not a run id: ${JSON.stringify(values.run)}`);
  if (values.feedback && (values.run !== undefined || values.all)) throw new UsageError('--feedback reports feedback alone: it takes no --run or --all');

  return withDb(loadConfig(), async (db) => {
    if (values.feedback) {
      const feedback = await feedbackSummary(db);
      console.log(values.json ? JSON.stringify({ feedback }, null, 2) : renderFeedback(feedback));
      return 0;
    }
    const runs = runsCollection(db);
    const run = values.run !== undefined ? await runs.findOne({ _id: values.run }) : (await runs.find().sort({ started_at: -1 }).limit(1).toArray())[0];
    if (!run) {
      console.error(values.run !== undefined ? `No run ${values.run} in ${RUNS_COLLECTION}.` : 'No runs yet. Start one with: moovitamix run --wait');
      return 1;
    }
    const reports = (await qualityReportsCollection(db).find({ workflow_id: run._id }).toArray()).filter((r) => r.run_id === run.run_id);
    const feedback = await feedbackSummary(db);
    if (values.json) {
      console.log(
        JSON.stringify(
          {
            run: { id: run._id, runId: run.run_id, date: run.date, status: run.status, durationMs: run.duration_ms },
            health: run.health ?? null,
            kpis: run.kpis ?? null,
            reports,
            feedback,
          },
          null,
          2,
        ),
      );
      return 0;
    }
    console.log(`${renderReport(run, reports, values.all)}\n\n${renderFeedback(feedback)}`);
    return 0;
  });
}

const shown = (r: CheckResult) =>
  r.unit === 'rate'
    ? `${r.observed}/${r.total ?? '?'} (${(r.value * 100).toFixed(2)} %)`
    : r.unit === 'days'
      ? `${r.observed} days`
      : r.unit === 'z'
        ? `z ${r.value.toFixed(2)}`
        : `${(r.value * 100).toFixed(1)} % change`;
const limits = (r: CheckResult) => (r.unit === 'rate' ? `>${r.warnAbove * 100}% / >${r.failAbove * 100}%` : `>${r.warnAbove} / >${r.failAbove}`);

export function renderReport(run: PipelineRunDocument, reports: QualityReportDocument[], all = false): string {
  const lines = [`Quality report of run ${run._id} (${run.date}): ${run.status}`];
  if (run.health) lines.push(healthLine(run.health));
  else lines.push('This run has no health record (it is still running, or ran before the health step existed).');
  for (const report of reports.sort((a, b) => a.source.localeCompare(b.source))) {
    lines.push('', `${report.source}: ${report.status.toUpperCase()} (${report.counts.pass} pass, ${report.counts.warn} warn, ${report.counts.fail} fail)`);
    const rows = all ? report.checks : report.checks.filter((r) => r.status !== 'pass');
    if (rows.length > 0) {
      lines.push(
        table(
          ['check', 'field', 'status', 'severity', 'measured', 'warn / fail above', 'samples'],
          rows.map((r) => [r.check, r.field ?? '', r.status.toUpperCase(), r.severity, shown(r), limits(r), r.samples.join(', ')]),
        ),
      );
    }
    if (!all && report.counts.pass > 0) lines.push(`  (${report.counts.pass} checks pass; --all lists them)`);
    const notes = report.checks
      .filter((r) => r.status !== 'pass')
      .map((r) => `  ${r.status.toUpperCase()} ${r.check}${r.field ? `:${r.field}` : ''}: ${r.message}`);
    lines.push(...notes);
  }
  const k = run.kpis;
  if (k) {
    lines.push(
      '',
      'KPIs:',
      `  live users ${k.liveUsers ?? '?'}, live tracks ${k.liveTracks ?? '?'}, listen histories ${k.liveHistories ?? '?'}, users with listens ${k.usersWithListens ?? '?'}`,
      `  new users on ${run.date}: ${k.newUsersOnDate}; last 7 days: ${Object.entries(k.newUsersPerDay)
        .slice(-7)
        .map(([d, n]) => `${d.slice(5)} ${n}`)
        .join(', ')}`,
    );
    if (k.historyLength)
      lines.push(
        `  history length: mean ${k.historyLength.mean}, p50 ${k.historyLength.p50}, p90 ${k.historyLength.p90}, max ${k.historyLength.max}; ${Object.entries(
          k.historyLength.histogram,
        )
          .map(([len, n]) => `${len}: ${n}`)
          .join(', ')}`,
      );
    if (k.topGenres.length > 0) lines.push(`  top genres by listens: ${k.topGenres.map((g) => `${g.genre} ${g.listens}`).join(', ')}`);
    if (k.favoriteGenres.length > 0) lines.push(`  favourite genres: ${k.favoriteGenres.map((g) => `${g.genre} ${g.users}`).join(', ')}`);
    lines.push(
      `  run ${(k.durationMs / 1000).toFixed(1)} s; per source: ${Object.entries(k.sourceDurationsMs)
        .map(([s, ms]) => `${s} ${((ms ?? 0) / 1000).toFixed(1)} s`)
        .join(', ')}`,
    );
    lines.push(
      `  runs (14 days): ${Object.values(k.runsPerDay).reduce((a, d) => a + d.succeeded, 0)} succeeded, ${Object.values(k.runsPerDay).reduce((a, d) => a + d.failed, 0)} failed`,
    );
    lines.push(
      `  collection sizes: ${Object.entries(k.collectionSizes)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}`,
    );
  }
  return lines.join('\n');
}

const percent = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(2)} %`);

/** Live feedback per model version: totals, then each model's days in the window. */
export function renderFeedback(summary: FeedbackSummary): string {
  if (summary.models.length === 0) return 'Live feedback: none yet. Clients send impressions, plays and likes to POST /feedback (moovitamix serve).';
  const lines = [
    'Live feedback per model version (CTR = plays / impressions), all time:',
    table(
      ['model', 'impressions', 'plays', 'likes', 'CTR', 'like rate', 'days'],
      summary.models.map((m) => [
        m.model,
        m.impressions,
        m.plays,
        m.likes,
        percent(m.ctr),
        percent(m.likeRate),
        m.firstDay === m.lastDay ? m.firstDay : `${m.firstDay} to ${m.lastDay}`,
      ]),
      new Set([1, 2, 3, 4, 5]),
    ),
    `Per day, ${summary.window.from} to ${summary.window.until} (plays / impressions = CTR):`,
  ];
  for (const m of summary.models) {
    lines.push(
      `  ${m.model}: ${m.days.length === 0 ? 'no events in these days' : m.days.map((d) => `${d.day.slice(5)} ${d.plays}/${d.impressions} = ${percent(d.ctr)}`).join(', ')}`,
    );
  }
  return lines.join('\n');
}
