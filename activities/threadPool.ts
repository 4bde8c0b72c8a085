import { Worker, parentPort } from 'node:worker_threads';

/**
 * A pool of worker threads that run one pure function, task by task, so that a worker
 * process uses its other cores while its event loop keeps talking to Temporal, the API
 * and the store. Threads start on first use, are unref'd (they never keep a process
 * alive) and are replaced when one dies (its task fails). The thread module calls
 * `serveTasks` with the function.
 */
export class ThreadPool<I, O> {
  private readonly threads: Thread<I, O>[] = [];
  private readonly queue: Task<I, O>[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly module: URL,
    readonly size: number,
    private readonly name: string,
  ) {}

  run(input: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error(`the ${this.name} pool is closed`));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, input, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new Error(`the ${this.name} pool is closed`));
    await Promise.all(this.threads.splice(0).map((t) => t.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let thread = this.threads.find((t) => !t.busy);
      if (!thread && this.threads.length < this.size) thread = this.spawn();
      if (!thread) return;
      const task = this.queue.shift() as Task<I, O>;
      thread.busy = task;
      thread.worker.postMessage({ id: task.id, input: task.input });
    }
  }

  private spawn(): Thread<I, O> {
    const worker = new Worker(this.module);
    const thread: Thread<I, O> = { worker, busy: undefined };
    worker.unref();
    worker.on('message', (message: Reply<O>) => {
      const task = thread.busy;
      thread.busy = undefined;
      if (task && task.id === message.id) {
        if (message.error) task.reject(Object.assign(new Error(message.error.message), { name: message.error.name, type: message.error.type }));
        else task.resolve(message.output as O);
      }
      this.dispatch();
    });
    worker.on('error', (err) => {
      this.threads.splice(this.threads.indexOf(thread), 1);
      thread.busy?.reject(err);
      thread.busy = undefined;
      this.dispatch();
    });
    this.threads.push(thread);
    return thread;
  }
}

/** An error as it crosses from a thread: its message, name and (ApplicationFailure) type. */
export interface ThreadError {
  message: string;
  name: string;
  type?: string;
}

/**
 * The thread side: runs `fn` on each task sent and answers with its output (the buffers
 * `transfer` names are moved, not copied) or its error.
 */
export function serveTasks<I, O>(fn: (input: I) => O, transfer: (output: O) => ArrayBuffer[] = () => []): void {
  parentPort?.on('message', ({ id, input }: { id: number; input: I }) => {
    try {
      const output = fn(input);
      parentPort?.postMessage({ id, output }, transfer(output));
    } catch (err) {
      const e = err as Error & { type?: string | null };
      parentPort?.postMessage({ id, error: { message: e.message, name: e.name, ...(e.type ? { type: e.type } : {}) } });
    }
  });
}

interface Task<I, O> {
  id: number;
  input: I;
  resolve(output: O): void;
  reject(err: Error): void;
}

interface Thread<I, O> {
  worker: Worker;
  busy: Task<I, O> | undefined;
}

interface Reply<O> {
  id: number;
  output?: O;
  error?: ThreadError;
}
