import { ThreadPool } from '../threadPool.js';
import type { TrainTask } from './tasks.js';
import type { TaskRunner } from './taskRunner.js';

/**
 * Worker threads for training: each runs one task at a time from a shared queue. Tasks
 * carry SharedArrayBuffers, so posting one shares its arrays instead of copying them.
 * Threads start on first use and keep a command that awaits a fit alive; close() ends them
 * (a fit always closes its pool).
 */
export class TrainPool implements TaskRunner {
  private readonly pool: ThreadPool<TrainTask, void>;

  constructor(readonly parallelism: number) {
    this.pool = new ThreadPool(new URL('./trainThread.js', import.meta.url), parallelism, 'training', { ref: true });
  }

  async runAll(tasks: readonly TrainTask[]): Promise<void> {
    await Promise.all(
      tasks.map((task) =>
        this.pool.run(task).catch((err: Error) => {
          throw new Error(`training task ${task.kind} failed: ${err.message}`);
        }),
      ),
    );
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
