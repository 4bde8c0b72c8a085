import { alsGram, alsSolve, type AlsGramTask, type AlsSolveTask } from '../als.js';
import { easeExtract, easeGram, easeSweep, easeWeights, type EaseExtractTask, type EaseGramTask, type EaseSweepTask, type EaseWeightsTask } from '../ease.js';
import { knnRows, type KnnRowsTask } from '../itemKnn.js';

/**
 * One unit of training work. Its arrays live in SharedArrayBuffers: a task reads its inputs
 * and writes its share of the outputs in place, on whichever thread runs it.
 */
export type TrainTask = KnnRowsTask | AlsGramTask | AlsSolveTask | EaseGramTask | EaseExtractTask | EaseSweepTask | EaseWeightsTask;

export function runTask(task: TrainTask): void {
  switch (task.kind) {
    case 'knnRows':
      return knnRows(task);
    case 'alsGram':
      return alsGram(task);
    case 'alsSolve':
      return alsSolve(task);
    case 'easeGram':
      return easeGram(task);
    case 'easeExtract':
      return easeExtract(task);
    case 'easeSweep':
      return easeSweep(task);
    case 'easeWeights':
      return easeWeights(task);
    default:
      throw new Error(`unknown training task ${(task as { kind: unknown }).kind}`);
  }
}
