import { availableParallelism } from 'node:os';
import { runTask, type TrainTask } from './tasks.js';
import { TrainPool } from './trainPool.js';
import type { TaskRunner } from './taskRunner.js';

/** Runs the tasks one after the other on the calling thread. */
export class InlineRunner implements TaskRunner {
  readonly parallelism = 1;

  async runAll(tasks: readonly TrainTask[]): Promise<void> {
    for (const task of tasks) runTask(task);
    // Let the event loop in between (a heartbeat, a cancellation, a parent gone): a fit is
    // many calls, each a fraction of a second.
    await new Promise((resolve) => setImmediate(resolve));
  }

  async close(): Promise<void> {}
}

/** `threads: 0` means one per core. */
export function resolveThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 0) throw new Error(`training threads must be a whole number >= 0 (0: one per core), got ${threads}`);
  return threads === 0 ? Math.max(1, availableParallelism()) : threads;
}

/** A pool of threads, or the calling thread when one thread is asked for or the work is too small to be worth starting threads. */
export function openRunner(threads: number, worthThreads: boolean): TaskRunner {
  const size = resolveThreads(threads);
  return size === 1 || !worthThreads ? new InlineRunner() : new TrainPool(size);
}
