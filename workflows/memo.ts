// The memo lines the Temporal UI shows for each run, in one place: pure, for workflows.
import type { RunHealth } from '../contracts/health.js';
import type { PipelineDrift, PipelineRecommendations } from '../contracts/pipeline.js';
import type { RecommendResult } from '../contracts/recommend.js';
import type { IngestSourceResult } from '../contracts/workflows.js';
import type { AlertOutcome } from '../contracts/health.js';

/** One line for the Temporal UI's memo. */
export function describeIngest(source: string, r: IngestSourceResult): string {
  return (
    `${source}: ${r.fetched} fetched (${r.invalid} invalid, ${r.duplicates} duplicates), ` +
    `${r.inserted} inserted, ${r.updated} updated, ${r.unchanged} unchanged, ${r.tombstoned} tombstoned; ` +
    `${r.pages} pages${r.unstagedPages ? ` (${r.unstagedPages} unchanged, not staged)` : ''}, ${r.requests} requests, ${Object.values(r.retries).reduce((a, b) => a + b, 0)} retries; ` +
    `${r.complete ? 'complete' : `incomplete (${r.incompleteReason})`}; ${(r.durationMs / 1000).toFixed(1)} s`
  );
}

export function describeRecommend(r: RecommendResult): string {
  if (r.status === 'unchanged') return `unchanged: ${r.users} users, no list to compute, model ${r.model}; batch ${r.batchId} stays active, nothing written`;
  const layout = r.layout === 'overlay' ? `, an overlay of ${r.documents} documents (${r.removed ?? 0} removed users) on ${r.previousBatchId}` : '';
  return `published ${r.batchId}${r.slot === 'challenger' ? ' (challenger, for the canary)' : ''}: ${r.users} users (${r.computed} computed, ${r.carried} carried over, ${r.coldStart} cold start), model ${r.model}${layout}`;
}

export function describeRecommendations(r: PipelineRecommendations): string {
  if ((r.status === 'published' || r.status === 'unchanged') && r.result) return `recommendations: ${describeRecommend(r.result)}`;
  return `recommendations: ${r.status}: ${r.reason}`;
}

export function describeDrift(d: PipelineDrift): string {
  if (d.status === 'drifted') return `drift: ${d.reasons.join('; ')}: retraining started (${d.retrainWorkflowId})`;
  if (d.status === 'stable') return `drift: none (PSI tracks ${d.figures?.psiTracks.toFixed(3)}, genres ${d.figures?.psiGenres.toFixed(3)})`;
  return `drift: ${d.status}: ${d.reasons.join('; ')}`;
}

export function describeHealth(health: RunHealth, alerts: AlertOutcome | undefined): string {
  const { pass, warn, fail } = health.counts;
  return (
    `health: ${health.status} (${pass} pass, ${warn} warn, ${fail} fail); ` +
    `downstream ${health.downstream.allowed ? 'allowed' : `stopped: ${health.downstream.reason}`}; ` +
    (alerts ? `alerts: ${alerts.opened} new, ${alerts.open.critical + alerts.open.warning} open` : 'alerts: not evaluated')
  );
}
