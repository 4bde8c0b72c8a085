import { Worker } from 'node:worker_threads';
import type { TaskRunner } from './runner.js';
import type { TrainTask } from './tasks.js';

/**
 * Worker threads for training: each runs one task at a time from a shared queue. Tasks
 * carry SharedArrayBuffers, so posting one shares its arrays instead of copying them.
 * Threads start on first use; close() ends them (a fit always closes its pool).
 */
export class TrainPool implements TaskRunner {
  private readonly threads: Thread[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(readonly parallelism: number) {}

  async runAll(tasks: readonly TrainTask[]): Promise<void> {
    await Promise.all(tasks.map((task) => this.run(task)));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(new Error('the training pool is closed'));
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  private run(task: TrainTask): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the training pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let thread = this.threads.find((t) => !t.busy);
      if (!thread && this.threads.length < this.parallelism) thread = this.spawn();
      if (!thread) return;
      const pending = this.queue.shift() as Pending;
      thread.busy = pending;
      thread.worker.postMessage({ id: pending.id, task: pending.task });
    }
  }

  private spawn(): Thread {
    const worker = new Worker(new URL('./trainThread.js', import.meta.url));
    const thread: Thread = { worker, busy: undefined };
    const fail = (err: Error) => {
      // A thread that dies fails its task; the pool replaces it on the next dispatch.
      const at = this.threads.indexOf(thread);
      if (at >= 0) this.threads.splice(at, 1);
      thread.busy?.reject(err);
      thread.busy = undefined;
      if (!this.closed) this.dispatch();
    };
    worker.on('message', (message: { id: number; error?: string }) => {
      const pending = thread.busy;
      thread.busy = undefined;
      if (pending && pending.id === message.id) {
        if (message.error !== undefined) pending.reject(new Error(`training task ${pending.task.kind} failed: ${message.error}`));
        else pending.resolve();
      }
      this.dispatch();
    });
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (thread.busy) fail(new Error(`a training thread exited (code ${code}) during task ${thread.busy.task.kind}`));
    });
    this.threads.push(thread);
    return thread;
  }
}

interface Pending {
  id: number;
  task: TrainTask;
  resolve(): void;
  reject(err: Error): void;
}

interface Thread {
  worker: Worker;
  busy: Pending | undefined;
}
