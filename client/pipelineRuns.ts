import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { RunHealth } from '../contracts/health.js';
import { workflowUiUrl } from '../config/addresses.js';
import type { Config } from '../config/config.js';
import type { dailyPipeline } from '../workflows/dailyPipeline.js';
import { ingestProgressQuery, pipelineProgressQuery } from '../workflows/queries.js';
import type { DailyPipelineInput, IngestProgress, PipelineProgress } from '../contracts/workflows.js';
import type { PipelineDrift, PipelineRecommendations } from '../contracts/pipeline.js';
import { seconds, table } from './format.js';
import type { SourceName } from '../contracts/names.js';
import type { SourceSummary } from '../contracts/ingest.js';

export type Summary = Partial<Record<SourceName, SourceSummary>>;

export interface StartOptions {
  workflowId: string;
  input: DailyPipelineInput;
  wait: boolean;
  json: boolean;
}

/**
 * Starts a dailyPipeline (or, with --wait, follows the one of that id already in
 * progress), shows its progress and prints its summary. Returns the exit status.
 */
export async function startPipeline(client: Client, config: Config, options: StartOptions): Promise<number> {
  const { workflowId, input, wait, json } = options;
  let handle: WorkflowHandle<typeof dailyPipeline>;
  let attached = false;
  try {
    handle = await client.workflow.start<typeof dailyPipeline>('dailyPipeline', { taskQueue: config.taskQueue, workflowId, args: [input] });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    if (!wait) {
      console.error(`A run ${workflowId} is already in progress. Follow it with --wait.`);
      return 1;
    }
    handle = client.workflow.getHandle<typeof dailyPipeline>(workflowId);
    attached = true;
  }
  const runId = (await handle.describe()).runId;
  const ui = workflowUiUrl(config, workflowId);
  const note = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
  note(`${attached ? 'Following the run already in progress' : 'Started'}: workflow ${workflowId} (run ${runId})${ui ? `\nTemporal UI: ${ui}` : ''}`);
  if (!wait) {
    if (json) console.log(JSON.stringify({ workflowId, runId, status: 'RUNNING' }));
    return 0;
  }
  return follow(client, handle, runId, config, json);
}

export async function follow(client: Client, handle: WorkflowHandle<typeof dailyPipeline>, runId: string, config: Config, json: boolean): Promise<number> {
  const display = new ProgressDisplay(json ? process.stderr : process.stdout);
  let finished = false;
  const result = handle.result().finally(() => (finished = true));
  const poller = (async () => {
    while (!finished) {
      display.show(await readProgress(client, handle).catch(() => undefined));
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 1_000))]);
    }
    // The final state too (a closed workflow still answers queries), however short the run.
    display.show(await readProgress(client, handle).catch(() => undefined));
  })();

  let status: 'COMPLETED' | 'FAILED';
  let sources: Summary;
  let health: RunHealth | undefined;
  let recommendations: PipelineRecommendations | undefined;
  let drift: PipelineDrift | undefined;
  let durationMs: number | undefined;
  let error: string | undefined;
  try {
    const r = await result;
    status = 'COMPLETED';
    sources = r.sources;
    durationMs = r.durationMs;
    health = r.health;
    recommendations = r.recommendations;
    drift = r.drift;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    status = 'FAILED';
    const details = (err.cause as { details?: unknown[] } | undefined)?.details?.[0] as
      { sources?: Summary; health?: RunHealth; recommendations?: PipelineRecommendations } | undefined;
    sources = details?.sources ?? {};
    health = details?.health;
    recommendations = details?.recommendations;
    error = err.cause?.message ?? err.message;
  }
  await poller;

  const summary = {
    workflowId: handle.workflowId,
    runId,
    status,
    durationMs,
    sources,
    ...(health ? { health } : {}),
    ...(recommendations ? { recommendations } : {}),
    ...(drift ? { drift } : {}),
    ...(error ? { error } : {}),
  };
  if (json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log(`\nRun ${handle.workflowId} ${status}${durationMs !== undefined ? ` in ${seconds(durationMs)}` : ''}${error ? `: ${error}` : ''}`);
    console.log(summaryTable(sources));
    if (health) console.log(healthLine(health));
    if (recommendations) console.log(recommendationsLine(recommendations));
    if (drift) console.log(driftLine(drift));
    const ui = workflowUiUrl(config, handle.workflowId);
    if (ui) console.log(`Temporal UI: ${ui}`);
  }
  return status === 'COMPLETED' ? 0 : 1;
}

/** The run's checks in one line, and why downstream steps were stopped. */
export function healthLine(health: RunHealth): string {
  const { pass, warn, fail } = health.counts;
  const failing = Object.entries(health.sources).flatMap(([name, h]) => (h?.failing ?? []).map((f) => `${name} ${f}`));
  return (
    `Checks: ${health.status.toUpperCase()} (${pass} pass, ${warn} warn, ${fail} fail)${failing.length > 0 ? `; failing: ${failing.join(', ')}` : ''}\n` +
    `Downstream steps: ${health.downstream.allowed ? 'allowed' : `stopped (${health.downstream.reason})`}. Details: moovitamix report`
  );
}

export function recommendationsLine(r: PipelineRecommendations): string {
  if (r.status === 'unchanged' && r.result) {
    const x = r.result;
    return `Recommendations: unchanged (${x.users} users, no list to compute; model ${x.model}): batch ${x.batchId} stays active, nothing written. Details: moovitamix recommend status`;
  }
  if (r.status === 'published' && r.result) {
    const x = r.result;
    return `Recommendations: published batch ${x.batchId} (${x.users} users: ${x.computed} computed, ${x.carried} carried over, ${x.coldStart} cold start; model ${x.model}${x.layout === 'overlay' ? `; an overlay of ${x.documents} documents on ${x.previousBatchId}` : ''}). Details: moovitamix recommend status`;
  }
  return `Recommendations: ${r.status} (${r.reason}); the active batch stays`;
}

export function driftLine(d: PipelineDrift): string {
  const f = d.figures;
  const figures = f
    ? ` (PSI tracks ${f.psiTracks.toFixed(3)}, genres ${f.psiGenres.toFixed(3)}; champion NDCG@10 ${f.championNdcgThen?.toFixed(4) ?? '-'} then, ${f.championNdcgNow?.toFixed(4) ?? '-'} now)`
    : '';
  if (d.status === 'drifted') return `Drift: ${d.reasons.join('; ')}${figures}: retraining started as ${d.retrainWorkflowId}. Details: moovitamix models list`;
  if (d.status === 'stable') return `Drift: none${figures}`;
  return `Drift: ${d.status} (${d.reasons.join('; ')})`;
}

const retriesOf = (s: SourceSummary) => Object.values(s.retries).reduce((a, b) => a + b, 0);

export function summaryTable(sources: Summary): string {
  const rows = Object.entries(sources).map(([name, s]) => [
    name,
    s.status,
    s.fetched,
    s.valid,
    s.invalid,
    s.inserted,
    s.updated,
    s.unchanged,
    s.tombstoned,
    s.duplicates,
    s.requests,
    retriesOf(s),
    s.complete ? 'yes' : 'no',
  ]);
  const header = [
    'source',
    'status',
    'fetched',
    'valid',
    'invalid',
    'inserted',
    'updated',
    'unchanged',
    'tombstoned',
    'duplicates',
    'requests',
    'retries',
    'complete',
  ];
  const notes = Object.entries(sources)
    .filter(([, s]) => !s.complete && s.incompleteReason)
    .map(([name, s]) => `  ${name}: not complete, nothing tombstoned: ${s.incompleteReason}`);
  return [table(header, rows, new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11])), ...notes].join('\n');
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
      const child = await client.workflow
        .getHandle(entry.workflowId)
        .query(ingestProgressQuery)
        .catch(() => undefined);
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
    const stage = snapshot.pipeline.stage;
    const lines = Object.entries(snapshot.pipeline.sources).map(([name, entry]) => {
      const p = snapshot.sources[name as SourceName];
      if (entry.state === 'running' && p) {
        const pages = p.pagesPlanned === null ? '' : `${p.fetch.pages}/${p.pagesPlanned} pages`;
        return `  ${name.padEnd(15)} ${p.state.padEnd(11)} ${pages.padEnd(16)} ${p.fetch.fetched} records`;
      }
      const s = entry.summary;
      return `  ${name.padEnd(15)} ${entry.state.padEnd(11)} ${s ? `${s.fetched} records` : ''}`;
    });
    if (stage && stage !== 'ingesting')
      lines.push(`  ${'(run)'.padEnd(15)} ${stage === 'checking' ? 'running quality checks' : stage === 'alerting' ? 'KPIs and alerts' : 'done'}`);
    if (this.out.isTTY) {
      if (this.lines.length > 0) this.out.write(`\x1b[${this.lines.length}A`);
      this.out.write(lines.map((l) => `\x1b[2K${l}\n`).join(''));
    } else {
      lines.filter((l, i) => l !== this.lines[i]).forEach((l) => this.out.write(`${l}\n`));
    }
    this.lines = lines;
  }
}
