// Loaded by mocha (--require) before any test file.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { stopTestStack } from './testStack.js';

// Workers log their lifecycle at INFO; tests provoke failures on purpose, so only errors are worth reading.
Runtime.install({ logger: new DefaultLogger('ERROR') });

/** Stops the shared test servers after the whole suite. */
export async function mochaGlobalTeardown(): Promise<void> {
  await stopTestStack();
}
