import { parseArgs } from 'node:util';
import type { PipelineRunDocument } from '../../contracts/runs.js';
import { loadConfig } from '../../config/config.js';
import { seconds, table } from '../format.js';
import { withDb } from '../mongo.js';
import { healthLine, recommendationsLine, summaryTable } from '../pipelineRuns.js';
import { UsageError } from '../../config/usageError.js';
import { RUNS_COLLECTION } from '../../stores/runs.js';
import type { SourceSummary } from '../../contracts/ingest.js';
import { runsCollection } from '../../stores/runs.js';

export const STATUS_USAGE = `Usage: moovitamix status [RUN] [--json] [--limit N]

Without RUN: the latest runs (default 10) with their checks, then the details of the newest.
With RUN (a workflow id such as daily-2026-11-23): that run's details.
Reads the pipeline_runs collection.`;

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, limit: { type: 'string', default: '10' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(STATUS_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`status takes at most one run id, got: ${positionals.join(' ')}`);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be a whole number from 1 to 1000, got "${values.limit}"`);
  const id = positionals[0];
  if (id !== undefined && !/^[A-Za-z0-9._:/-]{1,200}$/.test(id)) throw new UsageError(`not a run id: ${JSON.stringify(id)}`);

  return withDb(loadConfig(), async (db) => {
    const runs = runsCollection(db);
    if (id !== undefined) {
      const run = await runs.findOne({ _id: id });
      if (!run) {
        console.error(`No run ${id} in ${RUNS_COLLECTION}.`);
        return 1;
      }
      console.log(values.json ? JSON.stringify(run, null, 2) : details(run));
      return 0;
    }
    const latest = await runs.find().sort({ started_at: -1 }).limit(limit).toArray();
    if (values.json) {
      console.log(JSON.stringify(latest, null, 2));
      return 0;
    }
    if (latest.length === 0) {
      console.log('No runs yet. Start one with: moovitamix run --wait');
      return 0;
    }
    console.log(
      table(
        ['run', 'date', 'status', 'started', 'duration', 'fetched', 'inserted', 'updated', 'tombstoned', 'invalid', 'checks (pass/warn/fail)'],
        latest.map((r) => {
          const sum = (k: 'fetched' | 'inserted' | 'updated' | 'tombstoned' | 'invalid') => Object.values(r.sources).reduce((a, s) => a + (s?.[k] ?? 0), 0);
          return [
            r._id,
            r.date,
            r.status,
            r.started_at.toISOString().slice(0, 19),
            r.duration_ms === null ? '-' : seconds(r.duration_ms),
            sum('fetched'),
            sum('inserted'),
            sum('updated'),
            sum('tombstoned'),
            sum('invalid'),
            checksCell(r),
          ];
        }),
        new Set([5, 6, 7, 8, 9]),
      ),
    );
    console.log(`\n${details(latest[0] as PipelineRunDocument)}`);
    return 0;
  });
}

const checksCell = (r: PipelineRunDocument) =>
  r.health ? `${r.health.status.toUpperCase()} ${r.health.counts.pass}/${r.health.counts.warn}/${r.health.counts.fail}` : '-';

/** Everything the run record holds, for one run. */
export function details(run: PipelineRunDocument): string {
  const lines = [
    `Run ${run._id} (Temporal run ${run.run_id}), date ${run.date}: ${run.status}`,
    `  started ${run.started_at.toISOString()}${run.finished_at ? `, finished ${run.finished_at.toISOString()} (${seconds(run.duration_ms ?? 0)})` : ''}`,
    summaryTable(run.sources),
  ];
  if (run.health) lines.push(healthLine(run.health));
  if (run.recommendations) lines.push(recommendationsLine(run.recommendations));
  for (const [name, s] of Object.entries(run.sources) as [string, SourceSummary][]) {
    const retries =
      Object.entries(s.retries)
        .filter(([, n]) => n > 0)
        .map(([reason, n]) => `${reason} ${n}`)
        .join(', ') || 'none';
    const added = Object.entries(s.drift.added).map(([f, n]) => `+${f} (${n})`);
    const missing = Object.entries(s.drift.missing).map(([f, n]) => `-${f} (${n})`);
    lines.push(
      `${name}:`,
      `  pages ${s.pages}/${s.pagesPlanned ?? '?'}${s.unstagedPages ? ` (${s.unstagedPages} unchanged since the last clean merge, not staged)` : ''}, total ${s.totalAtStart ?? '?'} at start, ${s.totalAtEnd ?? '?'} at end; ${s.complete ? 'complete' : `not complete: ${s.incompleteReason}`}`,
      `  ${s.requests} requests, retries: ${retries}; ${(s.bytes / 1e6).toFixed(2)} MB`,
      `  fetch ${seconds(s.fetchMs)}, merge ${seconds(s.mergeMs)}, total ${seconds(s.durationMs)}; ${s.recordsPerSecond} records/s, ${s.requestsPerSecond} requests/s`,
      `  ${s.historyVersions} prior versions to history, ${s.curatedDocuments} curated documents${s.merged ? '' : ' (not merged)'}`,
      `  schema drift: ${[...added, ...missing].join(', ') || 'none'}`,
    );
    if (s.error) lines.push(`  error: ${s.error}`);
  }
  return lines.join('\n');
}
