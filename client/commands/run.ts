import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/config.js';
import { isSourceName } from '../../sources/index.js';
import { isCalendarDate } from '../../workflows/pagePlan.js';
import type { DailyPipelineInput } from '../../contracts/workflows.js';
import { startPipeline } from '../pipelineRuns.js';
import { withClient } from '../temporalClient.js';
import { UsageError } from '../../config/usageError.js';
import { SOURCE_NAMES, type SourceName } from '../../contracts/names.js';

export const RUN_USAGE = `Usage: moovitamix run [--date YYYY-MM-DD] [--wait] [--json] [--sources a,b] [--concurrency N]

Starts the daily pipeline for a date (default: today, UTC) as workflow daily-<date>.
  --wait          follow the run's progress and print a per-source summary; if the
                  date's run is already in progress, follow that one
  --json          print JSON (with --wait: the summary; progress goes to stderr)
  --sources       ingest only these of ${SOURCE_NAMES.join(', ')}
  --concurrency   requests in flight per source (default 8)
Exit status: 0 completed (or started), 1 failed, 2 bad usage or configuration.`;

export const INGEST_USAGE = `Usage: moovitamix ingest --source NAME [--date YYYY-MM-DD] [--wait] [--json]

Ingests one source alone, as workflow ingest-<source>-<date>: fetch, validate,
stage, merge into the raw layer, rebuild its curated collection.`;

export function parseDate(text: string | undefined): string {
  const date = text ?? new Date().toISOString().slice(0, 10);
  if (!isCalendarDate(date)) throw new UsageError(`--date must be YYYY-MM-DD naming a real day, got "${date}"`);
  return date;
}

export function parseConcurrency(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 256) throw new UsageError(`--concurrency must be a whole number from 1 to 256, got "${text}"`);
  return Number(text);
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      date: { type: 'string' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      sources: { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  const date = parseDate(values.date);
  const input: DailyPipelineInput = { date, concurrency: parseConcurrency(values.concurrency) };
  if (values.sources !== undefined) {
    const names = values.sources.split(',').map((s) => s.trim());
    const bad = names.filter((s) => !isSourceName(s));
    if (bad.length > 0 || names.length === 0) throw new UsageError(`--sources takes some of ${SOURCE_NAMES.join(', ')}; unknown: ${bad.join(', ')}`);
    input.sources = names as SourceName[];
  }
  const config = loadConfig();
  return withClient(config, async (client) => {
    return await startPipeline(client, config, { workflowId: `daily-${date}`, input, wait: values.wait, json: values.json });
  });
}

export async function ingestCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: 'string' },
      date: { type: 'string' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(INGEST_USAGE);
    return 0;
  }
  const source = values.source;
  if (!source || !isSourceName(source)) throw new UsageError(`--source must be one of ${SOURCE_NAMES.join(', ')}`);
  const date = parseDate(values.date);
  const config = loadConfig();
  return withClient(config, async (client) => {
    return await startPipeline(client, config, {
      workflowId: `ingest-${source}-${date}`,
      input: { date, sources: [source], concurrency: parseConcurrency(values.concurrency) },
      wait: values.wait,
      json: values.json,
    });
  });
}
