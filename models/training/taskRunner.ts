/**
 * Runs training tasks: on the calling thread, or on a pool of worker threads. A task is
 * one of training/tasks.ts's, told apart by its kind; the model code that makes them needs
 * only this, so it does not depend on the table of every task.
 */
export interface TaskRunner {
  /** Tasks that run at once: a fit splits its work into at least this many parts. */
  readonly parallelism: number;
  /** Runs every task; resolves once all are done (their results are in shared memory). */
  runAll(tasks: readonly { kind: string }[]): Promise<void>;
  close(): Promise<void>;
}
