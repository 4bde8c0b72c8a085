import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CsvMissingColumnError, DEFAULT_CSV_COLUMNS, columnsProblem, readInteractionsCsv, type CsvColumns } from '../evaluation/csv.js';
import {
  DEFAULT_MAX_USERS,
  DEFAULT_TEST_FRACTION,
  SPLIT_METHODS,
  describeSplit,
  leaveLastOut,
  temporalSplit,
  type Split,
  type SplitMethod,
} from '../../models/evaluation/split.js';
import { DEFAULT_TUNE_BUDGET_S } from '../../models/evaluation/tune.js';
import { defaultTrainingMemoryMb, parseGivenParams, type FamilyParams } from '../../models/families.js';
import { parseParamList } from '../../config/trainingSettings.js';
import { seconds, table } from '../format.js';
import { UsageError } from '../../config/usageError.js';
import { evaluateFamilies, type FamilyRow } from '../evaluation/evaluateFamilies.js';
import { MODEL_FAMILIES, type ModelFamily } from '../../contracts/names.js';

export const MODELS_EVALUATE_USAGE = `Usage: moovitamix models evaluate --interactions FILE.csv [options]

Fits each model family on the same training split of FILE and measures how well it finds
the listens held out: hit rate, recall, NDCG and MAP at 10 and 20, catalogue coverage, the
popularity of what it recommends, training and evaluation time, peak memory. MostPopular is
always evaluated: every family's ndcg@10 is compared to it.
  --interactions FILE  CSV with a header naming a user and an item column (other columns ignored;
                       a time column enables --split temporal), each user's rows oldest first
  --user-col NAME      the user column (default user_id); ids are whole numbers
  --item-col NAME      the item column (default item_id), e.g. --item-col book_id
  --time-col NAME      the time column (default timestamp, used when present; named, it must be)
  --families LIST      comma-separated, of: ${MODEL_FAMILIES.join(', ')} (default: all); a family
                       past its documented limit on this data (ease: the items --memory-mb holds) is skipped, with the reason
  --split METHOD       leave-last-out (default): each user's last track is held out
                       temporal: the latest listens by time are held out
  --test-fraction F    temporal: the share of all listens held out (default ${DEFAULT_TEST_FRACTION})
  --seed N             seed of the test-user sample and of every fit (default 1)
  --max-users N        evaluate a seeded sample of at most N users (default ${DEFAULT_MAX_USERS})
  --param FAMILY.KEY=VALUE
                       a family's parameter, e.g. item-knn.neighbors=100 (repeatable)
  --threads N          threads each family may use to fit and to score (default: one per core)
  --memory-mb N        memory a fit may take (default MOOVITAMIX_TRAINING_MEMORY_MB, else half the machine's):
                       EASE refuses a catalogue whose dense matrices it would not hold
  --tune               tune each family first: its grid (docs/models.md; --param values are held)
                       fitted on the training part less a validation item per user and scored on
                       those items; the best setting is then fitted on the whole training part and
                       scored once on the test items. The family marked * has the best validation
                       ndcg@10: the one a retraining would pick
  --tune-budget S      seconds of search per family (default ${DEFAULT_TUNE_BUDGET_S}; its defaults are always tried)
  --json               print one JSON document: dataset, split, one row per family
Progress goes to stderr. Each family runs in a process of its own, so its peak memory is its own.
Exit status: 0 done (skipped families included), 1 failed (unreadable data, or a family failed), 2 bad usage.`;

/** `moovitamix models evaluate ARGS` (argv: the arguments after "evaluate"). */
export async function evaluateCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      interactions: { type: 'string' },
      'user-col': { type: 'string', default: DEFAULT_CSV_COLUMNS.user },
      'item-col': { type: 'string', default: DEFAULT_CSV_COLUMNS.item },
      'time-col': { type: 'string' },
      families: { type: 'string', default: MODEL_FAMILIES.join(',') },
      split: { type: 'string', default: 'leave-last-out' },
      'test-fraction': { type: 'string' },
      seed: { type: 'string', default: '1' },
      'max-users': { type: 'string', default: String(DEFAULT_MAX_USERS) },
      param: { type: 'string', multiple: true, default: [] },
      threads: { type: 'string' },
      'memory-mb': { type: 'string' },
      tune: { type: 'boolean', default: false },
      'tune-budget': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(MODELS_EVALUATE_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`models evaluate takes no positional arguments, got: ${positionals.join(' ')}`);
  if (values.interactions === undefined) throw new UsageError(`models evaluate needs --interactions FILE.csv\n\n${MODELS_EVALUATE_USAGE}`);
  const file = values.interactions;
  const families = parseFamilies(values.families);
  const method = values.split as SplitMethod;
  if (!SPLIT_METHODS.includes(method)) throw new UsageError(`--split must be one of ${SPLIT_METHODS.join(', ')}, got "${values.split}"`);
  const seed = wholeNumber('--seed', values.seed, 0, 2 ** 32 - 1);
  const maxUsers = wholeNumber('--max-users', values['max-users'], 1, 100_000_000);
  const threads = values.threads === undefined ? 0 : wholeNumber('--threads', values.threads, 1, 256);
  const memoryText = values['memory-mb'] ?? process.env.MOOVITAMIX_TRAINING_MEMORY_MB;
  const memoryMb =
    memoryText === undefined || memoryText === ''
      ? defaultTrainingMemoryMb()
      : wholeNumber(values['memory-mb'] !== undefined ? '--memory-mb' : 'MOOVITAMIX_TRAINING_MEMORY_MB', memoryText, 1, 16_777_216);
  if (values['tune-budget'] !== undefined && !values.tune) throw new UsageError('--tune-budget applies with --tune only');
  const tuneBudgetS = values['tune-budget'] === undefined ? DEFAULT_TUNE_BUDGET_S : wholeNumber('--tune-budget', values['tune-budget'], 0, 7 * 24 * 3600);
  let fraction: number | undefined;
  if (values['test-fraction'] !== undefined) {
    if (method !== 'temporal') throw new UsageError('--test-fraction applies to --split temporal only');
    fraction = Number(values['test-fraction']);
    if (!/^0?\.\d+$/.test(values['test-fraction']) || !(fraction > 0 && fraction < 1))
      throw new UsageError(`--test-fraction must be a number between 0 and 1, got "${values['test-fraction']}"`);
  }
  const params = parseParamFlags(values.param, ['most-popular', ...families]);
  const columns: CsvColumns = {
    user: columnName('--user-col', values['user-col']),
    item: columnName('--item-col', values['item-col']),
    time: values['time-col'] === undefined ? DEFAULT_CSV_COLUMNS.time : columnName('--time-col', values['time-col']),
    timeRequired: values['time-col'] !== undefined,
  };
  const columnsWrong = columnsProblem(columns);
  if (columnsWrong) throw new UsageError(columnsWrong);
  try {
    if (!statSync(file).isFile()) throw new UsageError(`--interactions ${file} is not a file`);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read --interactions ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }

  const progress = (line: string) => process.stderr.write(`${line}\n`);
  progress(`Reading ${file}`);
  const reading = performance.now();
  let data;
  try {
    data = await readInteractionsCsv(file, columns);
  } catch (err) {
    // A header that lacks a column is the common first stumble: say how to name it.
    if (err instanceof CsvMissingColumnError) throw new UsageError(`${err.message}\nName the columns with --user-col, --item-col (and --time-col).`);
    throw err;
  }
  const readMs = Math.round(performance.now() - reading);
  const dataset = { file, rows: data.rows, users: data.interactions.nUsers, items: data.interactions.nItems, timestamps: data.times !== undefined, readMs };
  progress(`Read ${data.rows} listens of ${dataset.users} users over ${dataset.items} items in ${seconds(readMs)}`);
  if (data.rows === 0) throw new Error(`${file} has a header but no listens`);

  let split: Split;
  if (method === 'temporal') {
    if (!data.times) throw new UsageError(`--split temporal needs a timestamp column in ${file} (a column ${columns.time}; --time-col names another)`);
    split = temporalSplit(data.interactions, data.times, { seed, maxUsers, ...(fraction !== undefined ? { fraction } : {}) });
  } else {
    split = leaveLastOut(data.interactions, { seed, maxUsers });
  }
  const description = describeSplit(split);
  if (split.testUsers.length === 0)
    throw new Error(
      `no user qualifies for evaluation with the ${method} split (${method === 'temporal' ? 'users need listens both before and after the cut' : 'users need 2 listens or more, of 2 distinct tracks or more'})`,
    );
  progress(splitLine(description));

  const rows = await evaluateFamilies({
    itemIds: data.itemIds,
    split,
    families,
    params,
    seed,
    threads,
    memoryMb,
    onProgress: progress,
    ...(values.tune ? { tuneBudgetMs: tuneBudgetS * 1000 } : {}),
  });
  if (values.json) console.log(JSON.stringify({ dataset, split: description, rows }, null, 2));
  else console.log(render(dataset, description, rows));
  return rows.some((r) => r.error !== undefined) ? 1 : 0;
}

function parseFamilies(text: string): ModelFamily[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((n) => !(MODEL_FAMILIES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0)
    throw new UsageError(
      `--families takes a comma-separated list of ${MODEL_FAMILIES.join(', ')}${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}`,
    );
  return [...new Set(names as ModelFamily[])];
}

/** `--param family.key=value` flags as each family's validated parameters (those given). */
export function parseParamFlags(flags: readonly string[], families: readonly ModelFamily[]): Partial<Record<ModelFamily, FamilyParams>> {
  let raw: ReturnType<typeof parseParamList>;
  try {
    raw = parseParamList([...flags]);
  } catch (err) {
    throw new UsageError(`--param takes FAMILY.KEY=VALUE (e.g. item-knn.neighbors=100): ${(err as Error).message}`);
  }
  const params: Partial<Record<ModelFamily, FamilyParams>> = {};
  for (const [family, values] of Object.entries(raw) as [ModelFamily, Record<string, string>][]) {
    if (!families.includes(family)) throw new UsageError(`--param ${family}.*: ${family} is not among the evaluated families (--families)`);
    try {
      // Only what was given: the defaults fill in at the fit, and tuning searches the rest.
      params[family] = parseGivenParams(family, values);
    } catch (err) {
      throw new UsageError(`--param: ${family}: ${(err as Error).message}`);
    }
  }
  return params;
}

function columnName(flag: string, text: string): string {
  const name = text.trim();
  if (name === '' || /[,"\r\n]/.test(name))
    throw new UsageError(`${flag} takes a column name of the CSV header (no comma, quote or line break), got ${JSON.stringify(text)}`);
  return name;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  return value;
}

function splitLine(d: ReturnType<typeof describeSplit>): string {
  const cut = d.cutTime !== undefined ? `, holding out the latest ${d.fraction} of listens (after ${d.cutTime})` : '';
  return `Split ${d.method}${cut}, seed ${d.seed}: ${d.testUsers} of ${d.testUsersTotal} qualifying users evaluated; ${d.trainListens} training listens, ${d.holdoutItems} held-out items`;
}

function render(dataset: { file: string; rows: number; users: number; items: number }, d: ReturnType<typeof describeSplit>, rows: FamilyRow[]): string {
  const f4 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));
  const body = rows.map((r) => {
    const m = r.metrics;
    const uplift =
      r.skipped !== undefined
        ? 'skipped'
        : r.family === 'most-popular'
          ? 'baseline'
          : r.ndcgUplift === null
            ? '-'
            : `${r.ndcgUplift >= 0 ? '+' : ''}${(r.ndcgUplift * 100).toFixed(1)}%`;
    const params =
      Object.entries(r.params)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-';
    const tuned = r.tuning ? [f4(r.tuning.validationNdcg), `${r.tuning.tried.length}/${r.tuning.tried.length + r.tuning.untried}`] : [];
    return [
      `${r.family}${r.picked ? ' *' : ''}`,
      ...tuned,
      f4(m?.['ndcg@10']),
      f4(m?.['recall@10']),
      f4(m?.['hit_rate@10']),
      f4(m?.['map@10']),
      f4(m?.['ndcg@20']),
      f4(m?.['coverage@20']),
      m ? m['mean_popularity@20'].toFixed(1) : '-',
      uplift,
      ...(r.skipped !== undefined ? ['-', '-', '-'] : [seconds(r.trainMs), seconds(r.evalMs), r.peakRssMb.toFixed(0)]),
      params,
    ];
  });
  const tuned = rows.some((r) => r.tuning);
  const headers = [
    'family',
    ...(tuned ? ['val ndcg@10', 'tried'] : []),
    'ndcg@10',
    'recall@10',
    'hit@10',
    'map@10',
    'ndcg@20',
    'cov@20',
    'pop@20',
    'ndcg@10 vs MP',
    'train',
    'eval',
    'peak MB',
    'params',
  ];
  const lines = [
    `Dataset ${dataset.file}: ${dataset.rows} listens, ${dataset.users} users, ${dataset.items} items`,
    splitLine(d),
    '',
    table(
      headers,
      tuned ? body.map((row) => (row.length === headers.length ? row : [row[0] as string, '-', '-', ...row.slice(1)])) : body,
      new Set(headers.map((_, i) => i).filter((i) => i > 0 && i < headers.length - 1)),
    ),
  ];
  for (const r of rows) if (r.skipped !== undefined) lines.push(`${r.family} skipped: ${r.skipped}`);
  for (const r of rows) if (r.error !== undefined) lines.push(`${r.family} failed: ${r.error}`);
  lines.push('', 'pop@20: mean training listens of the recommended tracks; peak MB: the resident peak of the process that fitted and evaluated the family.');
  if (tuned) {
    const v = rows.find((r) => r.tuning)?.tuning;
    lines.push(
      `Tuned on a validation split (each user's last training listen; ${v?.validationUsers} users, ${v?.validationTrainListens} listens): val ndcg@10 of the chosen setting, settings tried/in the grid;`,
      'params: the chosen setting, refitted on the whole training part and scored once on the test items (the ndcg@10 ... peak MB columns). * the best on validation: what a retraining would pick.',
    );
  }
  return lines.join('\n');
}
