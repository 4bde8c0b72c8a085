import { parseArgs } from 'node:util';
import { parseParamList } from '../../config/trainingSettings.js';
import { loadConfig } from '../../config/config.js';
import { retrainProgressQuery } from '../../workflows/queries.js';
import type { retrain } from '../../workflows/retrain.js';
import type { RetrainInput, RetrainResult } from '../../contracts/workflows.js';
import { followWorkflow } from '../follow.js';
import { seconds, table } from '../format.js';
import { withClient } from '../temporalClient.js';
import { UsageError } from '../../config/usageError.js';
import { MODEL_FAMILIES, type ModelFamily } from '../../contracts/names.js';

export const RETRAIN_USAGE = `Usage: moovitamix retrain [--families F,...] [--param FAMILY.NAME=VALUE ...] [--seed N] [--no-recompute] [--wait] [--json]

Retrains the recommendation model now (workflow retrain-<time>), as the weekly schedule
(weekly-retrain, Sunday 04:00 UTC) and drift do: snapshot the live listens, train each
candidate family, score candidates, the champion and MostPopular on the same split,
promote the best candidate only if it clears the promotion rule, then recompute every
user's recommendations.
  --families   candidates (default MOOVITAMIX_RETRAIN_FAMILIES): ${MODEL_FAMILIES.join(', ')}
  --param      a hyper-parameter, e.g. --param als.factors=32 (repeatable)
  --seed       the split and training seed (default: drawn, and recorded)
  --no-recompute  decide and move aliases only
  --wait       follow the run and print the decision
Exit status: 0 done (or started), 1 failed, 2 bad usage or configuration.`;

export async function retrainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      families: { type: 'string' },
      param: { type: 'string', multiple: true },
      seed: { type: 'string' },
      'no-recompute': { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(RETRAIN_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`retrain takes no arguments, got: ${positionals.join(' ')}`);
  const input: RetrainInput = { trigger: 'manual' };
  if (values.families !== undefined) {
    const list = values.families.split(',').map((f) => f.trim());
    const unknown = list.filter((f) => !(MODEL_FAMILIES as readonly string[]).includes(f));
    if (unknown.length > 0 || list.length === 0)
      throw new UsageError(`--families takes families among ${MODEL_FAMILIES.join(', ')}; unknown: ${unknown.join(', ')}`);
    input.families = [...new Set(list)] as ModelFamily[];
  }
  if (values.param) {
    try {
      input.params = parseParamList(values.param);
    } catch (err) {
      throw new UsageError(`--param: ${(err as Error).message}`);
    }
  }
  if (values.seed !== undefined) {
    if (!/^\d{1,15}$/.test(values.seed)) throw new UsageError(`--seed must be a whole number, got "${values.seed}"`);
    input.seed = Number(values.seed);
  }
  if (values['no-recompute']) input.recompute = false;

  const config = loadConfig();
  return withClient(config, async (client) => {
    const workflowId = `retrain-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 18)}`;
    const handle = await client.workflow.start<typeof retrain>('retrain', { workflowId, taskQueue: config.taskQueue, args: [input] });
    if (!values.wait) {
      console.log(
        values.json ? JSON.stringify({ workflowId, runId: handle.firstExecutionRunId }) : `Started ${workflowId}; follow it in the Temporal UI or with --wait`,
      );
      return 0;
    }
    return await followWorkflow(handle, {
      json: values.json,
      everyMs: 5000,
      progress: async () => {
        const p = await handle.query(retrainProgressQuery);
        return `${p.stage}${p.training ? `: ${p.training}` : ''} (${p.trained.length} trained)`;
      },
      render: renderRetrain,
    });
  });
}

export function renderRetrain(r: RetrainResult): string {
  const f = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));
  const rows = [
    ...r.candidates.map((c) =>
      c.status === 'trained'
        ? [c.key, 'candidate', f(c.metrics['ndcg@10']), f(c.metrics['recall@10']), f(c.metrics['coverage@20']), seconds(c.trainMs)]
        : [c.family, `skipped: ${c.reason}`, '-', '-', '-', '-'],
    ),
    ...(r.champion
      ? [[r.champion.key, 'champion', f(r.champion.metrics['ndcg@10']), f(r.champion.metrics['recall@10']), f(r.champion.metrics['coverage@20']), '-']]
      : []),
    [r.baseline.key, 'baseline', f(r.baseline.metrics['ndcg@10']), f(r.baseline.metrics['recall@10']), f(r.baseline.metrics['coverage@20']), '-'],
  ];
  return [
    `Retraining (${r.trigger}) on snapshot ${r.snapshotId}, seed ${r.seed}, in ${seconds(r.durationMs)}`,
    table(['MODEL', 'ROLE', 'NDCG@10', 'RECALL@10', 'COVERAGE@20', 'TRAIN'], rows, new Set([2, 3, 4, 5])),
    `Decision: ${r.decision.summary}`,
    ...r.decision.verdicts.flatMap((v) => [`  ${v.key}: ${v.passed ? 'passed' : 'not promoted'}`, ...v.reasons.map((x) => `    - ${x}`)]),
    ...r.recommendations.map((x) => `Recommendations (${x.slot}): ${x.status}${x.batchId ? `, batch ${x.batchId}` : ''}${x.reason ? `: ${x.reason}` : ''}`),
  ].join('\n');
}
