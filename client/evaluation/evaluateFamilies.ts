import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultTrainingMemoryMb, familyRefusal, resolveFamilyParams, type FamilyParams } from '../../models/families.js';
import type { Metrics } from '../../models/evaluation/metrics.js';
import type { Split } from '../../models/evaluation/split.js';
import type { Tuning } from '../../models/evaluation/tune.js';
import type { FamilyJob, FamilyMessage } from './familyProcess.js';
import { writeSplitFile } from './splitFile.js';
import type { ModelFamily } from '../../contracts/names.js';

// `models evaluate`: each family fitted and scored in a child process of its own (models/
// holds the fitting and scoring; the files and processes around them live here).

export interface FamilyRow {
  family: ModelFamily;
  /** The parameters the model was fitted with (the family's defaults filled in), or as asked when the run failed. */
  params: FamilyParams;
  /** null when the family failed (see error). */
  metrics: Metrics | null;
  /** ndcg@10 relative to MostPopular's on the same split (0.25: 25% better); null without a baseline. */
  ndcgUplift: number | null;
  trainMs: number;
  evalMs: number;
  /** Peak resident memory of the process that fitted and evaluated the family. */
  peakRssMb: number;
  /** That process's peak once Node and the split were loaded, before fitting: its floor. */
  baseRssMb: number;
  error?: string;
  /** When tuned: the settings tried on the validation split and the one chosen (`params`). */
  tuning?: Tuning;
  /** Tuned runs: the candidate family (not MostPopular) with the best validation ndcg@10, the one a retraining would pick. */
  picked?: boolean;
  /** Why the family did not run: this data is past its documented limit (e.g. EASE's maxItems). Not a failure. */
  skipped?: string;
}

export interface EvaluateFamiliesInput {
  /** Item ids of the catalogue (index i: itemIds[i]), as the models store them. */
  itemIds: Float64Array;
  split: Split;
  families: readonly ModelFamily[];
  /** Parameters per family; missing ones take the family's defaults. */
  params?: Partial<Record<ModelFamily, FamilyParams>>;
  seed: number;
  /** Threads each family may use to fit and to score (0 or absent: one per core). */
  threads?: number;
  /**
   * Tune each family first, for at most this long each (the defaults are always tried): its
   * grid searched on a validation split carved from the training part, the best setting then
   * fitted on the whole training part and scored once on the test part.
   */
  tuneBudgetMs?: number;
  /** Memory each fit may take, in MB (EASE's catalogue limit follows from it); default: half the machine's. */
  memoryMb?: number;
  onProgress?: (message: string) => void;
}

/**
 * Fits and evaluates each family on the same split, one after the other, each in a child
 * process of its own so its peak memory is its own. MostPopular is always evaluated first
 * (added when not asked for): every row's ndcg@10 is compared to it. A family that fails
 * gets a row with its error and null metrics; a family this data is past the documented
 * limit of gets a row with the reason it was skipped; the others still run.
 */
export async function evaluateFamilies(input: EvaluateFamiliesInput): Promise<FamilyRow[]> {
  const families: ModelFamily[] = ['most-popular', ...input.families.filter((f) => f !== 'most-popular')];
  const unique = [...new Set(families)];
  const dir = mkdtempSync(join(tmpdir(), 'moovitamix-evaluation-'));
  try {
    const splitPath = join(dir, 'split.bin');
    writeSplitFile(splitPath, input.split, input.itemIds);
    const rows: FamilyRow[] = [];
    for (const family of unique) {
      const job: FamilyJob = {
        splitPath,
        family,
        params: input.params?.[family] ?? {},
        seed: input.seed,
        threads: input.threads ?? 0,
        memoryMb: input.memoryMb ?? defaultTrainingMemoryMb(),
        ...(input.tuneBudgetMs !== undefined ? { tuneBudgetMs: input.tuneBudgetMs } : {}),
      };
      const refusal = familyRefusal(family, job.params, input.split.train.nItems, job.memoryMb);
      if (refusal) {
        input.onProgress?.(`${family}: skipped: ${refusal}`);
        rows.push({ ...notRun(family, resolveFamilyParams(family, job.params)), skipped: refusal });
        continue;
      }
      input.onProgress?.(`${family}: fitting on ${input.split.trainListens} listens`);
      rows.push(await runFamilyProcess(job, (message) => input.onProgress?.(`${family}: ${message}`)));
    }
    const baseline = rows[0]?.metrics?.['ndcg@10'];
    for (const row of rows) row.ndcgUplift = row.metrics && baseline ? row.metrics['ndcg@10'] / baseline - 1 : null;
    // Picked on validation, never on the test figures it is then reported with; MostPopular is
    // the fallback, not a candidate.
    const tuned = rows.filter((row) => row.metrics && row.tuning && row.family !== 'most-popular');
    const pick = tuned.reduce<FamilyRow | undefined>(
      (a, b) => (!a || (b.tuning as Tuning).validationNdcg > (a.tuning as Tuning).validationNdcg ? b : a),
      undefined,
    );
    if (pick) pick.picked = true;
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The row of a family that fitted nothing (add why: skipped or error). */
function notRun(family: ModelFamily, params: FamilyParams): FamilyRow {
  return { family, params, metrics: null, ndcgUplift: null, trainMs: 0, evalMs: 0, peakRssMb: 0, baseRssMb: 0 };
}

function runFamilyProcess(job: FamilyJob, onProgress: (message: string) => void): Promise<FamilyRow> {
  return new Promise((resolve) => {
    // Whatever the child prints goes to stderr: stdout may be carrying a JSON document.
    const child = fork(new URL('./familyProcess.js', import.meta.url), [], { stdio: ['ignore', 2, 2, 'ipc'] });
    let row: FamilyRow | undefined;
    const failed = (error: string): FamilyRow => ({ ...notRun(job.family, job.params), error });
    child.on('message', (message: FamilyMessage) => {
      if (message.type === 'progress') onProgress(message.message);
      else if (message.type === 'done') row = { family: job.family, ...message.result, ndcgUplift: null };
      else row = { ...failed(message.message), peakRssMb: message.peakRssMb, baseRssMb: message.baseRssMb };
    });
    child.on('error', (err) => {
      row ??= failed(`could not start the evaluation process: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      // A child killed by the system (out of memory) reports nothing itself.
      const hint = signal === 'SIGKILL' ? ' (killed: out of memory?)' : '';
      resolve(row ?? failed(`the evaluation process exited with ${signal ?? `code ${code}`} before reporting${hint}`));
    });
    child.send(job);
  });
}
