import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config/config.js';

/** A Temporal client for the configured namespace, with an error that says what to do. */
export async function connectClient(config: Config): Promise<{ client: Client; close: () => Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporalAddress, connectTimeout: 5_000 });
  } catch (err) {
    throw new Error(
      `Cannot reach Temporal at ${config.temporalAddress} (${(err as Error).message}). ` +
        'Start the dev stack with `moovitamix stack up`, or set TEMPORAL_ADDRESS.',
    );
  }
  return { client: new Client({ connection, namespace: config.temporalNamespace }), close: () => connection.close() };
}

/** Runs `fn` with a Temporal client, and closes the connection whatever happens. */
export async function withClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const { client, close } = await connectClient(config);
  try {
    return await fn(client);
  } finally {
    await close();
  }
}
