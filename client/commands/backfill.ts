import { parseArgs } from 'node:util';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { loadConfig, type Config } from '../../config/config.js';
import { isCalendarDate } from '../../workflows/pagePlan.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { seconds, table } from '../format.js';
import { withDb } from '../mongo.js';
import { withClient } from '../temporalClient.js';
import { UsageError } from '../../config/usageError.js';
import { parseConcurrency } from './run.js';
import { runsCollection } from '../../stores/runs.js';

export const BACKFILL_USAGE = `Usage: moovitamix backfill --from YYYY-MM-DD --to YYYY-MM-DD [--parallel N] [--json]

Runs the daily pipeline once per date, oldest first, as workflows daily-<date>. A date
with a completed run (in pipeline_runs) is skipped; a failed one is run again; one in
progress is followed. --parallel runs that many dates at once (default 1). The API
has no history: every date reads the dataset as it is now.`;

const MAX_DAYS = 366;

interface DateOutcome {
  date: string;
  outcome: 'completed' | 'failed' | 'skipped';
  workflowId: string;
  durationMs: number | null;
  fetched: number | null;
  error?: string;
}

export function datesBetween(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) dates.push(new Date(t).toISOString().slice(0, 10));
  return dates;
}

export async function backfillCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      parallel: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(BACKFILL_USAGE);
    return 0;
  }
  const { from, to } = values;
  if (!from || !isCalendarDate(from) || !to || !isCalendarDate(to)) throw new UsageError('--from and --to must be YYYY-MM-DD naming real days');
  if (from > to) throw new UsageError(`--from (${from}) is after --to (${to})`);
  const dates = datesBetween(from, to);
  if (dates.length > MAX_DAYS) throw new UsageError(`a backfill covers at most ${MAX_DAYS} days; ${from}..${to} is ${dates.length}`);
  const parallel = parseConcurrency(values.parallel) ?? 1;

  const config = loadConfig();
  const log = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
  return withClient(config, (client) =>
    withDb(config, async (db) => {
      const runs = runsCollection(db);
      const done = new Set((await runs.find({ status: 'COMPLETED' }, { projection: { date: 1 } }).toArray()).map((r) => r.date));
      log(`Backfill ${from}..${to}: ${dates.length} dates, ${dates.filter((d) => done.has(d)).length} already done, ${parallel} at a time`);
      const outcomes: DateOutcome[] = [];
      const pending = [...dates];
      await Promise.all(
        Array.from({ length: Math.min(parallel, dates.length) }, async () => {
          for (let date = pending.shift(); date; date = pending.shift()) {
            const outcome = done.has(date) ? skipped(date) : await runDate(client, config, date);
            outcomes.push(outcome);
            log(
              `  ${date}  ${outcome.outcome}${outcome.durationMs !== null ? ` in ${seconds(outcome.durationMs)}` : ''}${outcome.error ? `: ${outcome.error}` : ''}  (${outcome.workflowId})`,
            );
          }
        }),
      );
      outcomes.sort((a, b) => a.date.localeCompare(b.date));
      const count = (o: DateOutcome['outcome']) => outcomes.filter((x) => x.outcome === o).length;
      if (values.json)
        console.log(JSON.stringify({ from, to, completed: count('completed'), skipped: count('skipped'), failed: count('failed'), dates: outcomes }, null, 2));
      else {
        console.log(
          table(
            ['date', 'outcome', 'duration', 'fetched', 'workflow'],
            outcomes.map((o) => [o.date, o.outcome, o.durationMs === null ? '-' : seconds(o.durationMs), o.fetched ?? '-', o.workflowId]),
          ),
        );
        console.log(`${count('completed')} completed, ${count('skipped')} skipped (already done), ${count('failed')} failed`);
      }
      return count('failed') > 0 ? 1 : 0;
    }),
  );
}

function skipped(date: string): DateOutcome {
  return { date, outcome: 'skipped', workflowId: `daily-${date}`, durationMs: null, fetched: null };
}

async function runDate(client: Client, config: Config, date: string): Promise<DateOutcome> {
  const workflowId = `daily-${date}`;
  let handle;
  try {
    // A completed daily-<date> is never started again; a failed one may be.
    handle = await client.workflow.start<typeof dailyPipeline>('dailyPipeline', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [{ date }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    handle = client.workflow.getHandle<typeof dailyPipeline>(workflowId);
    const { status } = await handle.describe();
    if (status.name === 'COMPLETED') return skipped(date);
  }
  try {
    const result = await handle.result();
    const fetched = Object.values(result.sources).reduce((a, s) => a + (s?.fetched ?? 0), 0);
    return { date, outcome: 'completed', workflowId, durationMs: result.durationMs, fetched };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    return { date, outcome: 'failed', workflowId, durationMs: null, fetched: null, error: err.cause?.message ?? err.message };
  }
}
