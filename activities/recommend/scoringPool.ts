import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ScoredChunk, ScoringContext, ScoringInput } from '../../models/score.js';

/**
 * Scoring runs on worker threads, so a worker process uses every core while its event
 * loop keeps streaming from and writing to MongoDB. A context (model, live catalogue,
 * settings) is sent to a thread once; its arrays are SharedArrayBuffers, so every thread
 * reads the same copy. Threads start on first use.
 */
export class ScoringPool {
  private readonly threads: Thread[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;

  constructor(readonly size = Math.max(1, availableParallelism())) {}

  /** Scores one chunk on the first free thread. `key` names the context (one per batch). */
  score(key: string, context: ScoringContext, input: ScoringInput): Promise<ScoredChunk> {
    if (this.closed) return Promise.reject(new Error('the scoring pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, key, context, input, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new Error('the scoring pool is closed'));
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let thread = this.threads.find((t) => !t.busy);
      if (!thread && this.threads.length < this.size) thread = this.spawn();
      if (!thread) return;
      const task = this.queue.shift() as Task;
      thread.busy = task;
      if (!thread.contexts.includes(task.key)) {
        thread.worker.postMessage({ type: 'context', key: task.key, context: task.context });
        thread.contexts = [task.key, ...thread.contexts].slice(0, CONTEXTS_PER_THREAD);
      }
      thread.worker.postMessage({ type: 'score', id: task.id, key: task.key, input: task.input });
    }
  }

  private spawn(): Thread {
    const worker = new Worker(new URL('./scoringThread.js', import.meta.url));
    const thread: Thread = { worker, busy: undefined, contexts: [] };
    worker.unref();
    worker.on('message', (message: { id: number; result?: ScoredChunk; error?: string }) => {
      const task = thread.busy;
      thread.busy = undefined;
      if (task && task.id === message.id) {
        if (message.error !== undefined) task.reject(new Error(`scoring failed: ${message.error}`));
        else task.resolve(message.result as ScoredChunk);
      }
      this.dispatch();
    });
    worker.on('error', (err) => {
      // A thread that dies fails its task; the pool replaces it on the next dispatch.
      this.threads.splice(this.threads.indexOf(thread), 1);
      thread.busy?.reject(err);
      thread.busy = undefined;
      this.dispatch();
    });
    this.threads.push(thread);
    return thread;
  }
}

/** Must match the thread's own cache size. */
export const CONTEXTS_PER_THREAD = 2;

interface Task {
  id: number;
  key: string;
  context: ScoringContext;
  input: ScoringInput;
  resolve(result: ScoredChunk): void;
  reject(err: Error): void;
}

interface Thread {
  worker: Worker;
  busy: Task | undefined;
  /** Context keys the thread holds, most recent first. */
  contexts: string[];
}
