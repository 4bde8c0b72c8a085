import { parseArgs } from 'node:util';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { loadConfig } from '../../config/config.js';
import { UsageError } from '../../config/usageError.js';
import { SEARCH_ATTRIBUTES } from '../../contracts/searchAttributes.js';
import { table } from '../format.js';
import { withClient } from '../temporalClient.js';

export const RUNS_USAGE = `Usage: moovitamix runs [--query Q] [--limit N] [--json]

Lists workflow runs from Temporal (running ones first, then by when they ended, newest
first) with the search attributes the workflows set. The query is a List Filter, exactly
as the Temporal UI and \`temporal workflow list --query\` take it.
  --query Q    e.g. "WorkflowType = 'dailyPipeline' AND MoovitamixHealth = 'fail'"
               "MoovitamixRunDate BETWEEN '2026-11-01T00:00:00Z' AND '2026-11-30T23:59:59Z'"
               "WorkflowType = 'retrain' AND MoovitamixPromotedFamily = 'als'"
               (default: the daily runs and retrainings of the namespace)
  --limit N    at most N runs (default 20, at most 1000)
  --json       one JSON document: the runs and their attributes
Attributes: MoovitamixRunDate (Datetime), MoovitamixStatus, MoovitamixHealth,
MoovitamixModel, MoovitamixTrigger, MoovitamixDecision, MoovitamixPromotedFamily
(Keyword), MoovitamixPublished (Bool); see docs/operations.md.`;

const DEFAULT_QUERY = "WorkflowType IN ('dailyPipeline', 'retrain')";

/** One run as `runs` shows it. */
export interface RunListing {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  startTime: string;
  closeTime: string | null;
  attributes: Record<string, string | number | boolean>;
}

export async function runsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      query: { type: 'string' },
      limit: { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(RUNS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`runs takes no positional arguments (quote the query: --query "..."), got: ${positionals.join(' ')}`);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new UsageError(`--limit must be a whole number from 1 to 1000, got ${JSON.stringify(values.limit)}`);
  const query = values.query ?? DEFAULT_QUERY;
  if (query.length > 2000 || query.trim() === '') throw new UsageError('--query must be 1 to 2000 characters');
  const config = loadConfig();
  return withClient(config, async (client) => {
    const runs = await listRuns(client, query, limit);
    if (values.json) {
      console.log(JSON.stringify({ query, runs }, null, 2));
      return 0;
    }
    if (runs.length === 0) {
      console.log(`No runs match ${query}`);
      return 0;
    }
    console.log(
      table(
        ['workflow', 'type', 'status', 'started', 'attributes'],
        runs.map((r) => [
          r.workflowId,
          r.type,
          r.status,
          r.startTime.slice(0, 19).replace('T', ' '),
          Object.entries(r.attributes)
            .map(([k, v]) => `${k.replace(/^Moovitamix/, '')}=${String(v)}`)
            .join(' '),
        ]),
      ),
    );
    return 0;
  });
}

/** The runs a List Filter selects, in Temporal's order (running first, then newest closed); a query Temporal refuses is a usage error with its reason. */
export async function listRuns(client: Client, query: string, limit: number): Promise<RunListing[]> {
  const runs: RunListing[] = [];
  try {
    for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 100) })) {
      runs.push(listing(info));
      if (runs.length >= limit) break;
    }
  } catch (err) {
    // gRPC INVALID_ARGUMENT, under the SDK's "Failed to list workflows": the server's parser says what is wrong.
    for (let e = err as (Error & { code?: number; details?: string; cause?: unknown }) | undefined; e; e = e.cause as typeof e) {
      if (e.code === 3) throw new UsageError(`Temporal refused the query ${JSON.stringify(query)}: ${e.details ?? e.message}`);
    }
    throw err;
  }
  return runs;
}

function listing(info: WorkflowExecutionInfo): RunListing {
  const attributes: RunListing['attributes'] = {};
  for (const key of Object.values(SEARCH_ATTRIBUTES)) {
    const value = info.typedSearchAttributes.get(key);
    if (value !== undefined) attributes[key.name] = value instanceof Date ? value.toISOString().slice(0, 10) : (value as string | boolean);
  }
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    type: info.type,
    status: info.status.name,
    startTime: info.startTime.toISOString(),
    closeTime: info.closeTime ? info.closeTime.toISOString() : null,
    attributes,
  };
}
