import { Worker, parentPort, workerData, type ResourceLimits } from 'node:worker_threads';

export interface ThreadPoolOptions {
  /** States a thread keeps (default 2). */
  keep?: number;
  /** V8 heap limits of each thread (default: V8's, sized from the machine's memory). */
  resourceLimits?: ResourceLimits;
  /** A thread with no task for this long exits; the next task starts a new one (default 10 s). */
  idleMs?: number;
  /**
   * Threads keep the process alive while they run a task (default false: a worker process
   * lives on its Temporal connection; a command that awaits only a fit asks for true).
   */
  ref?: boolean;
}

/** How long an idle thread is kept by default: well past the gap between a step's tasks. */
export const THREAD_IDLE_MS = 10_000;

/**
 * A pool of worker threads that run one function, task by task, so that a worker process
 * uses its other cores while its event loop keeps talking to Temporal, the API and the
 * store. Threads start on first use, are unref'd (they never keep a process alive) and are
 * replaced when one dies (its task fails). The thread module calls `serveTasks`.
 *
 * A task may name a state its thread needs first (a scoring context: model and catalogue):
 * it is sent to a thread once, and a thread keeps the `keep` most recent.
 *
 * A thread idle for `idleMs` exits, and the states it held go with it: between the steps
 * that use a pool (a fetch, the day's scoring) a worker holds only its main thread, so the
 * merge that follows the fetch, the day's peak of memory, does not carry idle threads.
 */
export class ThreadPool<I, O, S = never> {
  private readonly threads: Thread<I, O, S>[] = [];
  private readonly queue: Task<I, O, S>[] = [];
  private nextId = 0;
  private closed = false;

  private readonly keep: number;
  private readonly idleMs: number;

  constructor(
    private readonly module: URL,
    readonly size: number,
    private readonly name: string,
    private readonly options: ThreadPoolOptions = {},
  ) {
    this.keep = options.keep ?? 2;
    this.idleMs = options.idleMs ?? THREAD_IDLE_MS;
  }

  /** Threads running now (busy or waiting for a task). */
  get threadCount(): number {
    return this.threads.length;
  }

  run(input: I, state?: { key: string; value: S }): Promise<O> {
    if (this.closed) return Promise.reject(new Error(`the ${this.name} pool is closed`));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, input, state, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new Error(`the ${this.name} pool is closed`));
    await Promise.all(this.threads.splice(0).map((t) => (clearTimeout(t.idle), t.worker.terminate())));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let thread = this.threads.find((t) => !t.busy);
      if (!thread && this.threads.length < this.size) thread = this.spawn();
      if (!thread) return;
      const task = this.queue.shift() as Task<I, O, S>;
      clearTimeout(thread.idle);
      thread.busy = task;
      if (task.state && !thread.states.includes(task.state.key)) {
        thread.worker.postMessage({ state: task.state });
        thread.states = [task.state.key, ...thread.states].slice(0, this.keep);
      }
      thread.worker.postMessage({ id: task.id, input: task.input, key: task.state?.key });
    }
  }

  private spawn(): Thread<I, O, S> {
    const { resourceLimits } = this.options;
    const worker = new Worker(this.module, { workerData: { keep: this.keep }, ...(resourceLimits ? { resourceLimits } : {}) });
    const thread: Thread<I, O, S> = { worker, busy: undefined, states: [], idle: undefined };
    if (!this.options.ref) worker.unref();
    worker.on('message', (message: Reply<O>) => {
      const task = thread.busy;
      thread.busy = undefined;
      if (task && task.id === message.id) {
        if (message.error) task.reject(Object.assign(new Error(message.error.message), { name: message.error.name, type: message.error.type }));
        else task.resolve(message.output as O);
      }
      this.dispatch();
      if (!thread.busy) thread.idle = setTimeout(() => this.retire(thread), this.idleMs).unref();
    });
    // A thread that dies fails its task; the next dispatch replaces it.
    const fail = (err: Error) => {
      this.forget(thread);
      thread.busy?.reject(err);
      thread.busy = undefined;
      if (!this.closed) this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (thread.busy) fail(new Error(`a ${this.name} thread exited (code ${code}) during a task`));
    });
    this.threads.push(thread);
    return thread;
  }

  /** An idle thread exits; a task queued meanwhile starts a new one. */
  private retire(thread: Thread<I, O, S>): void {
    if (thread.busy || !this.threads.includes(thread)) return;
    this.forget(thread);
    void thread.worker.terminate();
  }

  private forget(thread: Thread<I, O, S>): void {
    clearTimeout(thread.idle);
    const at = this.threads.indexOf(thread);
    if (at !== -1) this.threads.splice(at, 1);
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
 * `transfer` names are moved, not copied) or its error. `fn` gets the state the task named,
 * as `makeState` built it from what the pool sent (the last `keep` are kept).
 */
export function serveTasks<I, O, S = never, T = never>(
  fn: (input: I, state: T | undefined) => O,
  transfer: (output: O) => ArrayBuffer[] = () => [],
  makeState?: (value: S) => T,
): void {
  const keep = (workerData as { keep?: number } | null)?.keep ?? 2;
  const states = new Map<string, T>();
  parentPort?.on('message', (message: { state: { key: string; value: S } } | { id: number; input: I; key?: string }) => {
    if ('state' in message) {
      states.set(message.state.key, (makeState as (value: S) => T)(message.state.value));
      while (states.size > keep) states.delete(states.keys().next().value as string);
      return;
    }
    const { id, input, key } = message;
    try {
      const state = key === undefined ? undefined : states.get(key);
      if (key !== undefined && makeState && state === undefined) throw new Error(`no state ${key} on this thread`);
      const output = fn(input, state);
      parentPort?.postMessage({ id, output }, transfer(output));
    } catch (err) {
      const e = err as Error & { type?: string | null };
      parentPort?.postMessage({ id, error: { message: e.message, name: e.name, ...(e.type ? { type: e.type } : {}) } });
    }
  });
}

interface Task<I, O, S> {
  id: number;
  input: I;
  state: { key: string; value: S } | undefined;
  resolve(output: O): void;
  reject(err: Error): void;
}

interface Thread<I, O, S> {
  worker: Worker;
  busy: Task<I, O, S> | undefined;
  /** State keys the thread holds, most recent first. */
  states: string[];
  /** The timer that retires the thread while it has no task. */
  idle: ReturnType<typeof setTimeout> | undefined;
}

interface Reply<O> {
  id: number;
  output?: O;
  error?: ThreadError;
}
