import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { prebuiltBundlePath } from '../../worker/workflowBundle.js';
import { getTestStack } from './testStack.js';

/** What the stubs were called with, by activity. */
export type Calls = Record<string, unknown[]>;

export type Stub = (input: unknown) => Promise<unknown>;

/**
 * The real workflow code on the test stack's real Temporal server, with stubbed activities
 * (the workflow tests' way, per the samples): `run` starts a worker on a task queue of its
 * own for one call, records every activity call, and stops it.
 */
export class StubbedWorkflows {
  private constructor(
    readonly client: Client,
    private readonly connection: Connection,
    private readonly workerConnection: NativeConnection,
    private readonly namespace: string,
  ) {}

  private n = 0;

  static async open(): Promise<StubbedWorkflows> {
    const stack = await getTestStack();
    const namespace = stack.config().temporalNamespace;
    const connection = await Connection.connect({ address: stack.temporalAddress });
    const workerConnection = await NativeConnection.connect({ address: stack.temporalAddress });
    return new StubbedWorkflows(new Client({ connection, namespace }), connection, workerConnection, namespace);
  }

  /** Runs `fn` (given a task queue and the calls so far) while a worker with these activities serves that queue. */
  async run<T>(activities: Record<string, Stub>, fn: (taskQueue: string, calls: Calls) => Promise<T>): Promise<{ value: T; calls: Calls }> {
    const calls: Calls = {};
    const taskQueue = `stubbed-${process.pid}-${this.n++}`;
    const recorded = Object.fromEntries(
      Object.entries(activities).map(([name, stub]) => [
        name,
        (input: unknown) => {
          (calls[name] ??= []).push(input);
          return stub(input);
        },
      ]),
    );
    const worker = await Worker.create({
      connection: this.workerConnection,
      namespace: this.namespace,
      taskQueue,
      workflowBundle: { codePath: prebuiltBundlePath },
      activities: recorded,
    });
    const value = await worker.runUntil(() => fn(taskQueue, calls));
    return { value, calls };
  }

  async close(): Promise<void> {
    await this.connection.close();
    await this.workerConnection.close();
  }
}
