// npm run bench:quality -- [--interactions FILE.csv] [--families LIST] [--peers LIST]
//                          [--tune-budget S] [--max-users N] [--no-peers]
//
// Model quality against the field's standard tools, in one run on one split: the data is
// split once (leave-last-out), the split written to files, and both sides read it:
//   ours:  `models evaluate --tune`'s path (each family's grid on a validation item per user
//          carved from the training part, within --tune-budget seconds per family; the best
//          refitted on the whole training part and scored once on the test items);
//   peers: bench/peers.py in a Python venv of the bench's own (numpy, scipy, implicit 0.7.3,
//          created on first use under the cache directory): MostPopular, implicit's cosine
//          and BM25 kNN and ALS, a numpy RP3beta, tuned the same way over their grids.
// Prints one JSON line per family and side (chosen setting, validation and test NDCG@10,
// test HR@10, fit seconds), then one line comparing the family ours picks by itself with
// the best peer on validation. Default data: the Deezer likes in ../shared/data/.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../config/paths.js';
import { readInteractionsCsv } from '../client/evaluation/csv.js';
import { leaveLastOut } from '../models/evaluation/split.js';
import { DEFAULT_TUNE_BUDGET_S } from '../models/evaluation/tune.js';
import { peerPython } from './peerVenv.js';
import { evaluateFamilies } from '../client/evaluation/evaluateFamilies.js';
import { MODEL_FAMILIES, type ModelFamily } from '../contracts/names.js';

const PEERS = ['most-popular', 'implicit-cosine', 'implicit-bm25', 'implicit-als', 'rp3beta'];

const { values } = parseArgs({
  options: {
    interactions: { type: 'string', default: join(projectRoot, '..', 'shared', 'data', 'deezer-likes', 'interactions.csv') },
    families: { type: 'string', default: 'item-knn,rp3beta,als,ease' },
    peers: { type: 'string', default: PEERS.join(',') },
    'tune-budget': { type: 'string', default: String(DEFAULT_TUNE_BUDGET_S) },
    'max-users': { type: 'string', default: '100000000' },
    'no-peers': { type: 'boolean', default: false },
  },
});
const log = (line: string) => process.stderr.write(`[bench:quality] ${line}\n`);
const families = values.families.split(',').map((f) => f.trim()) as ModelFamily[];
const unknown = families.filter((f) => !(MODEL_FAMILIES as readonly string[]).includes(f));
if (unknown.length > 0) throw new Error(`--families: unknown ${unknown.join(', ')} (families: ${MODEL_FAMILIES.join(', ')})`);
const peers = values.peers.split(',').map((p) => p.trim());
const badPeers = peers.filter((p) => !PEERS.includes(p));
if (badPeers.length > 0) throw new Error(`--peers: unknown ${badPeers.join(', ')} (peers: ${PEERS.join(', ')})`);
const budgetS = Number(values['tune-budget']);
if (!(budgetS >= 0)) throw new Error(`--tune-budget takes seconds, got ${values['tune-budget']}`);
if (!existsSync(values.interactions))
  throw new Error(`no data at ${values.interactions}: give --interactions FILE.csv (user_id,item_id, each user's rows oldest first)`);

const data = await readInteractionsCsv(values.interactions);
const split = leaveLastOut(data.interactions, { seed: 1, maxUsers: Number(values['max-users']) });
log(`${data.rows} rows, ${data.interactions.nUsers} users, ${data.interactions.nItems} items; ${split.testUsers.length} test users`);

// The split, once, for both sides: training rows in each user's order, then the test items.
const dir = mkdtempSync(join(tmpdir(), 'moovitamix-quality-'));
try {
  const train: string[] = [];
  for (let u = 0; u < split.train.nUsers; u++)
    for (let p = split.train.offsets[u] as number; p < (split.train.offsets[u + 1] as number); p++) train.push(`${u},${split.train.items[p]}`);
  writeFileSync(join(dir, 'train.csv'), `${train.join('\n')}\n`);
  const test: string[] = [];
  split.testUsers.forEach((u, t) => {
    for (let p = split.holdoutOffsets[t] as number; p < (split.holdoutOffsets[t + 1] as number); p++) test.push(`${u},${split.holdoutItems[p]}`);
  });
  writeFileSync(join(dir, 'test.csv'), `${test.join('\n')}\n`);
  writeFileSync(join(dir, 'shape.json'), JSON.stringify([split.train.nUsers, split.train.nItems]));

  const rows = await evaluateFamilies({ itemIds: data.itemIds, split, families, seed: 1, tuneBudgetMs: budgetS * 1000, onProgress: log });
  for (const r of rows) {
    console.log(
      JSON.stringify({
        side: 'ours',
        family: r.family,
        ...(r.picked ? { picked: true } : {}),
        chosen: r.params,
        validation_ndcg10: r.tuning?.validationNdcg ?? null,
        test_ndcg10: r.metrics?.['ndcg@10'] ?? null,
        test_hr10: r.metrics?.['hit_rate@10'] ?? null,
        fit_s: Number((r.trainMs / 1000).toFixed(1)),
        tried: r.tuning?.tried.length ?? 0,
        grid: r.tuning ? r.tuning.tried.length + r.tuning.untried : 0,
        ...(r.skipped ? { skipped: r.skipped } : {}),
        ...(r.error ? { error: r.error } : {}),
      }),
    );
  }

  const peerRows: { family: string; validation_ndcg10: number; test_ndcg10: number }[] = [];
  if (!values['no-peers']) {
    const python = peerPython(log);
    if (typeof python === 'object') {
      console.log(JSON.stringify({ side: 'peer', skipped: python.skipped }));
    } else {
      const run = spawnSync(python, [join(projectRoot, 'bench', 'peers.py'), dir, peers.join(','), String(budgetS)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 64 * 2 ** 20,
      });
      for (const line of run.stdout.split('\n').filter(Boolean)) {
        console.log(line);
        peerRows.push(JSON.parse(line) as (typeof peerRows)[number]);
      }
      if (run.status !== 0) console.log(JSON.stringify({ side: 'peer', error: `peers.py exited with ${run.status ?? run.signal}` }));
    }
  }
  const picked = rows.find((r) => r.picked);
  const bestPeer = peerRows
    .filter((p) => p.family !== 'most-popular')
    .reduce<(typeof peerRows)[number] | undefined>((a, b) => (!a || b.validation_ndcg10 > a.validation_ndcg10 ? b : a), undefined);
  const ours = picked?.metrics?.['ndcg@10'] ?? null;
  console.log(
    JSON.stringify({
      compare: 'the family ours picks by itself against the best peer on validation',
      picked: picked?.family ?? null,
      picked_test_ndcg10: ours,
      best_peer: bestPeer?.family ?? null,
      best_peer_test_ndcg10: bestPeer?.test_ndcg10 ?? null,
      reaches: ours !== null && bestPeer !== undefined ? ours >= bestPeer.test_ndcg10 : null,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
