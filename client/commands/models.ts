import { parseArgs } from 'node:util';
import type { Db } from 'mongodb';
import { RollbackRefused } from '../../contracts/rollbackRefused.js';
import { ALIASES, MODEL_VERSIONS, aliasLog, aliases, rollbackTarget, setAlias, type Alias, type ModelVersionDocument } from '../../stores/modelRegistry.js';
import { DECISIONS, type DecisionDocument } from '../../stores/decisions.js';
import { loadConfig } from '../../config/config.js';
import { table } from '../format.js';
import { withDb } from '../mongo.js';
import { UsageError } from '../../config/usageError.js';

export const MODELS_USAGE = `Usage: moovitamix models list [--json]
       moovitamix models show KEY|champion|challenger [--json]
       moovitamix models promote KEY [--alias champion|challenger] [--reason TEXT] [--no-recompute] [--wait]
       moovitamix models rollback [--reason TEXT] [--no-recompute] [--wait]
       moovitamix models evaluate --interactions FILE.csv [...]   (see: moovitamix models evaluate --help)

The model registry: numbered versions per family (item-knn@3), the champion (serves
everyone) and the challenger (the canary's arm, when MOOVITAMIX_CANARY_SHARE > 0).
  list      every version: status, aliases, NDCG@10, coverage, snapshot, created
  show      one version: parameters, metrics, lineage (snapshot, split seed, code
            version), alias moves and the retraining decisions that judged it
  promote   point an alias at a version by hand (logged with --reason), then
            recompute recommendations with it (unless --no-recompute)
  rollback  point the champion back at the version it replaced, then recompute
            (rolling back again walks further back)
  evaluate  offline evaluation of every model family on a CSV of listens
Exit status: 0 done, 1 refused or failed, 2 bad usage or configuration.`;

const KEY = /^[a-z0-9][a-z0-9-]{0,62}@[0-9]{1,9}$/;

export async function modelsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'evaluate':
      // Offline, on a CSV: Temporal's client, which only a recompute needs, is not loaded.
      return (await import('./modelsEvaluate.js')).evaluateCommand(rest);
    case 'list':
      return withArgsAndDb(rest, {}, (db, v) => list(db, v.json === true));
    case 'show':
      return withArgsAndDb(rest, {}, (db, v, positionals) => show(db, positionals, v.json === true));
    case 'promote':
      return withArgsAndDb(
        rest,
        {
          alias: { type: 'string', default: 'champion' },
          reason: { type: 'string' },
          'no-recompute': { type: 'boolean', default: false },
          wait: { type: 'boolean', default: false },
        },
        (db, v, positionals) => promote(db, positionals, v),
      );
    case 'rollback':
      return withArgsAndDb(
        rest,
        { reason: { type: 'string' }, 'no-recompute': { type: 'boolean', default: false }, wait: { type: 'boolean', default: false } },
        (db, v) => rollback(db, v),
      );
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(MODELS_USAGE);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown models subcommand "${sub}"\n\n${MODELS_USAGE}`);
  }
}

type Values = Record<string, string | boolean | undefined>;
type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

async function withArgsAndDb(argv: string[], options: Options, run: (db: Db, values: Values, positionals: string[]) => Promise<number>): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...options, json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  return withDb(loadConfig(), (db) => run(db, values as Values, positionals));
}

async function list(db: Db, json: boolean): Promise<number> {
  const versions = await db.collection<ModelVersionDocument>(MODEL_VERSIONS).find({}).toArray();
  versions.sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || a._id.localeCompare(b._id));
  const named = await aliases(db);
  const aliasesOf = (key: string) => [...named.values()].filter((a) => a.model_key === key).map((a) => a._id);
  if (json) {
    console.log(
      JSON.stringify(
        versions.map((v) => ({
          key: v._id,
          family: v.family,
          status: v.status,
          aliases: aliasesOf(v._id),
          metrics: v.metrics,
          snapshot_id: v.lineage.snapshot_id ?? null,
          created_at: v.created_at,
        })),
        null,
        2,
      ),
    );
    return 0;
  }
  if (versions.length === 0) {
    console.log('No model is registered yet: run `moovitamix retrain` (until then recommendations use MostPopular).');
    return 0;
  }
  const metric = (v: ModelVersionDocument, name: string) => (v.metrics[name] === undefined ? '-' : (v.metrics[name] as number).toFixed(4));
  console.log(
    table(
      ['KEY', 'FAMILY', 'STATUS', 'ALIASES', 'NDCG@10', 'COVERAGE@20', 'SNAPSHOT', 'CREATED'],
      versions.map((v) => [
        v._id,
        v.family,
        v.status,
        aliasesOf(v._id).join(',') || '-',
        metric(v, 'ndcg@10'),
        metric(v, 'coverage@20'),
        v.lineage.snapshot_id ?? '-',
        v.created_at.toISOString().slice(0, 19) + 'Z',
      ]),
      new Set([4, 5]),
    ),
  );
  return 0;
}

async function resolveKey(db: Db, given: string | undefined): Promise<string> {
  if (!given) throw new UsageError('name a model version: KEY (e.g. item-knn@3), champion or challenger');
  if ((ALIASES as readonly string[]).includes(given)) {
    const alias = (await aliases(db)).get(given);
    if (!alias) throw new Refused(`no model is the ${given}`);
    return alias.model_key;
  }
  if (!KEY.test(given)) throw new UsageError(`"${given}" is not a model key (family@version, e.g. item-knn@3), champion or challenger`);
  return given;
}

class Refused extends Error {}

async function show(db: Db, positionals: string[], json: boolean): Promise<number> {
  let key: string;
  try {
    key = await resolveKey(db, positionals[0]);
  } catch (err) {
    if (err instanceof Refused) return refuse(err.message);
    throw err;
  }
  const v = await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: key });
  if (!v) return refuse(`model version ${key} is not registered (see: moovitamix models list)`);
  const named = [...(await aliases(db)).values()].filter((a) => a.model_key === key).map((a) => a._id);
  const moves = await aliasLog(db, { key });
  const decisions = (await db.collection<DecisionDocument>(DECISIONS).find({}).toArray())
    .filter((d) => d.candidates.some((c) => c.key === key) || d.champion?.key === key)
    .sort((a, b) => b.at.getTime() - a.at.getTime());
  if (json) {
    console.log(JSON.stringify({ ...v, key: v._id, aliases: named, alias_moves: moves, decisions }, null, 2));
    return 0;
  }
  const lines = [
    `${v._id}  (${v.family}, ${v.status}${named.length > 0 ? `, ${named.join(' and ')}` : ''}), ${v.items} tracks, created ${v.created_at.toISOString()}`,
    `  parameters: ${
      Object.entries(v.params)
        .map(([k, x]) => `${k}=${x}`)
        .join(' ') || '(none)'
    }`,
    `  metrics:    ${
      Object.entries(v.metrics)
        .map(([k, x]) => `${k}=${Number.isInteger(x) ? x : x.toFixed(4)}`)
        .join(' ') || '(none)'
    }`,
    `  lineage:    snapshot ${v.lineage.snapshot_id ?? '-'}, split ${v.lineage.split ? `${v.lineage.split.method} seed ${v.lineage.split.seed}` : '-'}, seed ${v.lineage.seed ?? '-'}, code ${v.lineage.code_version ?? '-'}, run ${v.lineage.run ?? '-'}, trained in ${v.lineage.train_ms ?? '-'} ms`,
    `  artifact:   ${v.artifact.bytes} bytes in ${v.artifact.chunks} chunk(s)`,
  ];
  if (moves.length > 0) {
    lines.push('  alias moves:');
    for (const m of moves) lines.push(`    ${m.at.toISOString()}  ${m.alias}: ${m.from ?? '(none)'} -> ${m.to}  (${m.kind}) ${m.reason}`);
  }
  if (decisions.length > 0) {
    lines.push('  decisions:');
    for (const d of decisions) {
      lines.push(`    ${d.at.toISOString()}  ${d.workflow_id ?? d._id} (${d.trigger}, snapshot ${d.snapshot_id}, seed ${d.seed}): ${d.decision.summary}`);
      const verdict = d.decision.verdicts.find((x) => x.key === key);
      for (const r of verdict?.reasons ?? []) lines.push(`      - ${r}`);
    }
  }
  console.log(lines.join('\n'));
  return 0;
}

async function promote(db: Db, positionals: string[], v: Values): Promise<number> {
  const alias = v.alias as string;
  if (!(ALIASES as readonly string[]).includes(alias)) throw new UsageError(`--alias must be champion or challenger, got "${alias}"`);
  if (positionals.length !== 1) throw new UsageError('promote takes one model key (e.g. item-knn@3)');
  const key = positionals[0] as string;
  if (!KEY.test(key)) throw new UsageError(`"${key}" is not a model key (family@version, e.g. item-knn@3)`);
  const version = await db.collection<ModelVersionDocument>(MODEL_VERSIONS).findOne({ _id: key });
  if (!version) return refuse(`model version ${key} is not registered (see: moovitamix models list)`);
  const moved = await setAlias(db, alias as Alias, key, (v.reason as string | undefined) ?? 'promoted by hand (moovitamix models promote)');
  if (!moved.moved) return refuse(`${key} is already the ${alias}`);
  if (!v.json) console.log(`${alias}: ${moved.from ?? '(none)'} -> ${key}`);
  return recomputeAfter(alias as Alias, v);
}

async function rollback(db: Db, v: Values): Promise<number> {
  let target;
  try {
    target = await rollbackTarget(db);
  } catch (err) {
    if (err instanceof RollbackRefused) return refuse(`rollback refused: ${err.message}`);
    throw err;
  }
  await setAlias(db, 'champion', target.to, (v.reason as string | undefined) ?? `rolled back from ${target.from} (moovitamix models rollback)`, 'rollback');
  if (!v.json) console.log(`champion: ${target.from} -> ${target.to} (rolled back)`);
  return recomputeAfter('champion', v);
}

/** After an alias moved: its recommendations are recomputed (the new model means a full batch). */
async function recomputeAfter(alias: Alias, v: Values): Promise<number> {
  if (v['no-recompute']) {
    if (!v.json)
      console.log(`Recommendations not recomputed (--no-recompute): run \`moovitamix recommend${alias === 'challenger' ? ' --challenger' : ''}\` when ready.`);
    return 0;
  }
  const { startRecommend } = await import('./recommend.js');
  return startRecommend({ mode: 'full', ...(alias === 'challenger' ? { slot: 'challenger' as const } : {}) }, { wait: v.wait === true, json: v.json === true });
}

function refuse(message: string): number {
  console.error(`moovitamix: ${message}`);
  return 1;
}
