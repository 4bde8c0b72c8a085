import { parseArgs } from 'node:util';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { SourceSummary } from '../../activities/runs/types.js';
import { workflowUiUrl } from '../../config/addresses.js';
import { loadConfig, type Config } from '../../config/config.js';
import { SOURCE_NAMES, isSourceName, type SourceName } from '../../sources/index.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { isCalendarDate } from '../../workflows/pagePlan.js';
import { ingestProgressQuery, pipelineProgressQuery } from '../../workflows/queries.js';
import type { DailyPipelineInput, IngestProgress, PipelineProgress } from '../../workflows/types.js';
import { seconds, table } from '../format.js';
import { connectClient } from '../temporalClient.js';
import { UsageError } from '../usage.js';

export const RUN_USAGE = `Usage: moovitamix run [--date YYYY-MM-DD] [--wait] [--json] [--sources a,b]

Starts the daily pipeline for a date (default: today, UTC) as workflow daily-<date>.
  --wait       follow the run's progress and print a per-source summary; if the
               date's run is already in progress, follow that one
  --json       print JSON (with --wait: the summary; progress goes to stderr)
  --sources    ingest only these of ${SOURCE_NAMES.join(', ')}
Exit status: 0 completed (or started), 1 failed, 2 bad usage or configuration.`;

type Summary = Partial<Record<SourceName, SourceSummary>>;

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      date: { type: 'string' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      sources: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  const date = values.date ?? new Date().toISOString().slice(0, 10);
  if (!isCalendarDate(date)) throw new UsageError(`--date must be YYYY-MM-DD naming a real day, got "${date}"`);
  const input: DailyPipelineInput = { date };
  if (values.sources !== undefined) {
    const names = values.sources.split(',').map((s) => s.trim());
    const bad = names.filter((s) => !isSourceName(s));
    if (bad.length > 0 || names.length === 0) throw new UsageError(`--sources takes some of ${SOURCE_NAMES.join(', ')}; unknown: ${bad.join(', ')}`);
    input.sources = names as SourceName[];
  }

  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    const workflowId = `daily-${date}`;
    let handle: WorkflowHandle<typeof dailyPipeline>;
    let attached = false;
    try {
      handle = await client.workflow.start<typeof dailyPipeline>('dailyPipeline', { taskQueue: config.taskQueue, workflowId, args: [input] });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      if (!values.wait) {
        console.error(`A run for ${date} is already in progress (workflow ${workflowId}). Follow it with: moovitamix run --date ${date} --wait`);
        return 1;
      }
      handle = client.workflow.getHandle<typeof dailyPipeline>(workflowId);
      attached = true;
    }
    const runId = (await handle.describe()).runId;
    const ui = workflowUiUrl(config, workflowId);
    const note = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);
    note(`${attached ? 'Following the run already in progress' : 'Started'}: workflow ${workflowId} (run ${runId})${ui ? `\nTemporal UI: ${ui}` : ''}`);

    if (!values.wait) {
      if (values.json) console.log(JSON.stringify({ workflowId, runId, status: 'RUNNING' }));
      return 0;
    }
    return await follow(client, handle, config, values.json);
  } finally {
    await close();
  }
}

async function follow(client: Client, handle: WorkflowHandle<typeof dailyPipeline>, config: Config, json: boolean): Promise<number> {
  const out = json ? process.stderr : process.stdout;
  const display = new ProgressDisplay(out);
  let finished = false;
  const result = handle.result().finally(() => (finished = true));
  const poller = (async () => {
    while (!finished) {
      display.show(await readProgress(client, handle).catch(() => undefined));
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1_000))]);
    }
  })();

  let status: 'COMPLETED' | 'FAILED';
  let sources: Summary;
  let durationMs: number | undefined;
  let error: string | undefined;
  try {
    const r = await result;
    status = 'COMPLETED';
    sources = r.sources;
    durationMs = r.durationMs;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    status = 'FAILED';
    const details = (err.cause as { details?: unknown[] } | undefined)?.details?.[0] as { sources?: Summary } | undefined;
    sources = details?.sources ?? {};
    error = err.cause?.message ?? err.message;
  }
  await poller;

  const summary = { workflowId: handle.workflowId, runId: (await handle.describe()).runId, status, durationMs, sources, ...(error ? { error } : {}) };
  if (json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log(`\nRun ${handle.workflowId} ${status}${durationMs !== undefined ? ` in ${seconds(durationMs)}` : ''}${error ? `: ${error}` : ''}`);
    console.log(summaryTable(sources));
    const ui = workflowUiUrl(config, handle.workflowId);
    if (ui) console.log(`Temporal UI: ${ui}`);
  }
  return status === 'COMPLETED' ? 0 : 1;
}

export function summaryTable(sources: Summary): string {
  const columns = ['fetched', 'valid', 'invalid', 'inserted', 'updated', 'unchanged', 'duplicates'] as const;
  const rows = Object.entries(sources).map(([name, s]) => [name, s.status, ...columns.map((c) => s[c]), s.total ?? '-']);
  return table(['source', 'status', ...columns, 'api total'], rows, new Set([2, 3, 4, 5, 6, 7, 8, 9]));
}

interface ProgressSnapshot {
  pipeline: PipelineProgress;
  sources: Partial<Record<SourceName, IngestProgress>>;
}

async function readProgress(client: Client, handle: WorkflowHandle): Promise<ProgressSnapshot> {
  const pipeline = await handle.query(pipelineProgressQuery);
  const sources: ProgressSnapshot['sources'] = {};
  await Promise.all(
    Object.entries(pipeline.sources).map(async ([name, entry]) => {
      if (entry.state !== 'running') return;
      const child = await client.workflow.getHandle(entry.workflowId).query(ingestProgressQuery).catch(() => undefined);
      if (child) sources[name as SourceName] = child;
    }),
  );
  return { pipeline, sources };
}

/** One line per source; redrawn in place on a terminal, printed when it changes otherwise. */
class ProgressDisplay {
  private lines: string[] = [];
  constructor(private readonly out: NodeJS.WriteStream) {}

  show(snapshot: ProgressSnapshot | undefined): void {
    if (!snapshot) return;
    const lines = Object.entries(snapshot.pipeline.sources).map(([name, entry]) => {
      const p = snapshot.sources[name as SourceName];
      if (entry.state === 'running' && p) {
        const pages = p.pages === null ? '' : `${p.pagesStored}/${p.pages} pages`;
        return `  ${name.padEnd(15)} ${p.state.padEnd(10)} ${pages.padEnd(14)} ${p.fetched} records`;
      }
      const s = entry.summary;
      return `  ${name.padEnd(15)} ${entry.state.padEnd(10)} ${s ? `${s.fetched} records` : ''}`;
    });
    if (this.out.isTTY) {
      if (this.lines.length > 0) this.out.write(`\x1b[${this.lines.length}A`);
      this.out.write(lines.map((l) => `\x1b[2K${l}\n`).join(''));
    } else {
      lines.filter((l, i) => l !== this.lines[i]).forEach((l) => this.out.write(`${l}\n`));
    }
    this.lines = lines;
  }
}
