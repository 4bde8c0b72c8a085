import { fitModel, type FamilyParams } from '../../models/families.js';
import { evaluateModel } from '../../models/evaluation/evaluate.js';
import type { Metrics } from '../../models/evaluation/metrics.js';
import { readSplitFile } from './splitFile.js';
import { fitProgress, tuneFamily, type Tuning } from '../../models/evaluation/tune.js';
import type { ModelFamily } from '../../contracts/names.js';

/*
 * The child process of evaluateFamilies: fits one family on the split's training matrix
 * and evaluates it, alone in its process, so the peak resident memory it reports (Node's
 * maxRSS, which counts every thread) is this family's and no other's.
 */

export interface FamilyJob {
  splitPath: string;
  family: ModelFamily;
  params: FamilyParams;
  seed: number;
  threads: number;
  /** Tune first (tune.ts): search the family's grid on a validation split for this long, then fit the chosen setting. */
  tuneBudgetMs?: number;
  /** The training memory budget of each fit (FitOptions.memoryMb). */
  memoryMb: number;
}

export interface FamilyResult {
  params: FamilyParams;
  metrics: Metrics;
  trainMs: number;
  evalMs: number;
  peakRssMb: number;
  baseRssMb: number;
  /** When tuned: the search, its validation scores and the setting chosen (fitted and tested above). */
  tuning?: Tuning;
}

export type FamilyMessage =
  { type: 'progress'; message: string } | { type: 'done'; result: FamilyResult } | { type: 'error'; message: string; peakRssMb: number; baseRssMb: number };

const peakRssMb = () => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;

async function run(job: FamilyJob): Promise<FamilyMessage> {
  let baseRssMb = 0;
  try {
    const { split, itemIds } = readSplitFile(job.splitPath);
    baseRssMb = peakRssMb();
    const tuning =
      job.tuneBudgetMs === undefined
        ? undefined
        : await tuneFamily(job.family, split, itemIds, job.params, {
            seed: job.seed,
            threads: job.threads,
            memoryMb: job.memoryMb,
            budgetMs: job.tuneBudgetMs,
            onProgress: (message) => void send({ type: 'progress', message }),
          });
    if (tuning) void send({ type: 'progress', message: `tuned: ${tuning.tried.length} settings tried; fitting the best on the whole training part` });
    const started = performance.now();
    const model = await fitModel(job.family, split.train, itemIds, tuning?.chosen ?? job.params, {
      seed: job.seed,
      threads: job.threads,
      memoryMb: job.memoryMb,
      onProgress: fitProgress((message) => void send({ type: 'progress', message })),
    });
    const trainMs = Math.round(performance.now() - started);
    void send({ type: 'progress', message: `fitted in ${(trainMs / 1000).toFixed(1)} s; ranking ${split.testUsers.length} test users` });
    const evaluating = performance.now();
    const metrics = await evaluateModel(model, split, job.threads > 0 ? { threads: job.threads } : {});
    const evalMs = Math.round(performance.now() - evaluating);
    return { type: 'done', result: { params: model.params, metrics, trainMs, evalMs, peakRssMb: peakRssMb(), baseRssMb, ...(tuning ? { tuning } : {}) } };
  } catch (err) {
    return { type: 'error', message: (err as Error).message, peakRssMb: peakRssMb(), baseRssMb };
  }
}

function send(message: FamilyMessage): Promise<void> {
  return new Promise((resolve) => process.send?.(message, undefined, {}, () => resolve()));
}

if (!process.send) {
  console.error('familyProcess is started by evaluateFamilies, with an IPC channel');
  process.exit(2);
}

let reported = false;
// The evaluation that started this process is gone (interrupted, killed): nobody will read
// what this one finds, so it stops rather than fit on for minutes.
process.once('disconnect', () => {
  if (!reported) process.exit(1);
});

process.once('message', (job: FamilyJob) => {
  void run(job).then(async (message) => {
    await send(message);
    reported = true;
    process.disconnect();
  });
});
