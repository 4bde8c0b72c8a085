import { parseArgs } from 'node:util';
import { findList } from '../../activities/recommend/lookup.js';
import { RollbackRefused } from '../../contracts/rollbackRefused.js';
import { BATCHES, activeState, itemsOf, layersOf, rollbackActive, type BatchDocument } from '../../stores/recommendations.js';
import { loadConfig } from '../../config/config.js';
import { recommendProgressQuery } from '../../workflows/queries.js';
import type { recommend } from '../../workflows/recommend.js';
import type { RecommendInput } from '../../contracts/workflows.js';
import { MAX_RECOMPUTE_USERS, type RecommendResult } from '../../contracts/recommend.js';
import { followWorkflow } from '../follow.js';
import { seconds, table } from '../format.js';
import { withDb } from '../mongo.js';
import { withClient } from '../temporalClient.js';
import { UsageError } from '../../config/usageError.js';

export const RECOMMEND_USAGE = `Usage: moovitamix recommend [--full] [--users ID,...] [--challenger] [--wait] [--json]
       moovitamix recommend rollback [--json]
       moovitamix recommend status [--json]
       moovitamix recommend show USER_ID [--json]

Computes every live user's recommendations into a new batch and publishes it
(workflow recommend-<time>). The daily pipeline does this after each healthy ingest.
  --full        recompute every user (default: incremental, carrying over users whose
                history and favourite genre are unchanged, when the model is the same)
  --users       also recompute these users (comma-separated ids), changed or not
  --challenger  compute the challenger model's batch, which the canary serves to
                MOOVITAMIX_CANARY_SHARE of users (instead of the champion's batch)
  --wait        follow the run and print what it did
rollback  makes the previous batch active again, at once (one step back only)
status    the active batch and the batches kept
show      one user's list from the active batch, as the API serves it
Exit status: 0 done (or started), 1 failed, 2 bad usage or configuration.`;

export async function recommendCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'rollback') return rollbackCommand(rest);
  if (sub === 'status') return statusOfBatches(rest);
  if (sub === 'show') return showCommand(rest);
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      full: { type: 'boolean', default: false },
      challenger: { type: 'boolean', default: false },
      users: { type: 'string' },
      wait: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(RECOMMEND_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unknown recommend subcommand "${positionals[0]}" (rollback, status, show)`);
  const input: RecommendInput = { mode: values.full ? 'full' : 'incremental' };
  if (values.users !== undefined) input.users = parseUserIds(values.users);

  if (values.challenger) input.slot = 'challenger';
  return startRecommend(input, { wait: values.wait, json: values.json });
}

/** Starts a recommend run (recommend-<time>); with `wait`, follows it and prints what it did. */
export async function startRecommend(input: RecommendInput, options: { wait: boolean; json: boolean }): Promise<number> {
  const config = loadConfig();
  return withClient(config, async (client) => {
    const workflowId = `recommend-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 18)}`;
    const handle = await client.workflow.start<typeof recommend>('recommend', { workflowId, taskQueue: config.taskQueue, args: [input] });
    if (!options.wait) {
      console.log(
        options.json ? JSON.stringify({ workflowId, runId: handle.firstExecutionRunId }) : `Started ${workflowId}; follow it in the Temporal UI or with --wait`,
      );
      return 0;
    }
    return await followWorkflow(handle, {
      json: options.json,
      everyMs: 2000,
      progress: async () => {
        const p = await handle.query(recommendProgressQuery);
        return `${p.stage}: ${p.chunksDone}/${p.chunks ?? '?'} chunks, ${p.totals.computed} computed, ${p.totals.carried} carried over`;
      },
      render: renderResult,
    });
  });
}

export function parseUserIds(text: string): number[] {
  const parts = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = parts.filter((s) => !/^[1-9][0-9]{0,15}$/.test(s) || !Number.isSafeInteger(Number(s)));
  if (parts.length === 0 || bad.length > 0)
    throw new UsageError(`--users takes comma-separated positive user ids${bad.length > 0 ? `; not ids: ${bad.slice(0, 5).join(', ')}` : ''}`);
  if (parts.length > MAX_RECOMPUTE_USERS)
    throw new UsageError(`--users takes at most ${MAX_RECOMPUTE_USERS.toLocaleString('en-US')} ids (run a full batch instead)`);
  return [...new Set(parts.map(Number))];
}

function renderResult(r: RecommendResult): string {
  if (r.status === 'unchanged') {
    return [
      `Unchanged in ${seconds(r.durationMs)}: no user's inputs, live users, model (${r.model}) or settings changed`,
      `  ${r.slot === 'challenger' ? 'challenger ' : ''}batch ${r.batchId} stays active for its ${r.users} users; nothing written but the run's record ${r.recordId}`,
    ].join('\n');
  }
  const layout =
    r.layout === 'overlay'
      ? `  an overlay on ${r.previousBatchId}: ${r.documents} documents written (${r.computed} lists, ${r.removed ?? 0} removed users)`
      : `  a full batch: ${r.documents ?? r.users} documents written${r.compactBecause ? ` (compacted: ${r.compactBecause})` : ''}`;
  return [
    `Published ${r.slot === 'challenger' ? 'challenger ' : ''}batch ${r.batchId} in ${seconds(r.durationMs)} (model ${r.model}, ${r.mode}${r.fullBecause ? `, every user computed: ${r.fullBecause}` : ''})`,
    `  users ${r.users}: ${r.computed} computed, ${r.carried} carried over, ${r.coldStart} cold start; ${r.chunks} chunks`,
    layout,
    `  previous batch ${r.previousBatchId ?? '(none)'} kept for rollback${r.pruned.length > 0 ? `; dropped ${r.pruned.join(', ')}` : ''}`,
  ].join('\n');
}

async function rollbackCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, strict: true });
  return withDb(loadConfig(), async (db) => {
    try {
      const moved = await rollbackActive(db);
      console.log(values.json ? JSON.stringify(moved) : `Rolled back: batch ${moved.to} is active again (was ${moved.from})`);
      return 0;
    } catch (err) {
      if (err instanceof RollbackRefused) {
        console.error(`moovitamix: rollback refused: ${err.message}`);
        return 1;
      }
      throw err;
    }
  });
}

async function statusOfBatches(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, strict: true });
  return withDb(loadConfig(), async (db) => {
    const state = await activeState(db);
    const batches = (
      await db
        .collection<BatchDocument>(BATCHES)
        .find({ status: { $ne: 'pruned' } })
        .toArray()
    ).sort((a, b) => b.created_at.getTime() - a.created_at.getTime());
    if (values.json) {
      console.log(JSON.stringify({ active: state, batches }, null, 2));
      return 0;
    }
    console.log(
      state
        ? `Active batch ${state.batch_id} since ${state.switched_at.toISOString()} (${state.reason}); rollback to: ${state.previous_batch_id ?? 'none'}`
        : 'No batch published yet.',
    );
    if (batches.length > 0) {
      const rows = batches.map((b) => [
        b._id,
        b.status,
        b.model.key,
        b.mode,
        layoutOf(b),
        b.users,
        b.written?.computed ?? b.to_compute,
        b.written?.carried ?? b.to_carry,
        b.written?.cold_start ?? '',
        (b.published_at ?? b.created_at).toISOString(),
      ]);
      console.log(
        table(['batch', 'status', 'model', 'mode', 'layout', 'users', 'computed', 'carried', 'cold start', 'published / created'], rows, new Set([5, 6, 7, 8])),
      );
    }
    return 0;
  });
}

/** full, `overlay/N` (N layers read through), or `-` for an unchanged run's record. */
function layoutOf(b: BatchDocument): string {
  if (b.status === 'unchanged') return '-';
  return b.layout === 'overlay' ? `overlay/${layersOf(b).length - 1}` : 'full';
}

async function showCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length > 0) throw new UsageError('recommend show takes one user id');
  const [userId] = parseUserIds(id);
  return withDb(loadConfig(), async (db) => {
    const state = await activeState(db);
    if (!state) {
      console.error('moovitamix: no recommendations have been published yet');
      return 1;
    }
    const doc = await findList(db, state, userId as number);
    if (!doc) {
      console.error(`moovitamix: user ${userId} is not in the active batch ${state.batch_id}`);
      return 1;
    }
    if (values.json) {
      console.log(JSON.stringify(doc, null, 2));
      return 0;
    }
    console.log(`User ${doc.user_id}, batch ${doc.batch_id} (computed in ${doc.computed_in}), model ${doc.model}${doc.cold_start ? ', cold start' : ''}`);
    console.log(
      table(
        ['#', 'track', 'score', 'reason', 'because'],
        itemsOf(doc).map((item, i) => [i + 1, item.track_id, item.score, item.reason, item.because.join(' ')]),
        new Set([0, 1, 2]),
      ),
    );
    return 0;
  });
}
