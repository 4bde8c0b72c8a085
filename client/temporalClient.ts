import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import type { Config } from '../config/config.js';
import { connectOptions } from '../config/temporalConnection.js';
import { temporalUnreachable } from '../config/temporalTlsProbe.js';

/** A Temporal client for the configured namespace, with an error that says what to do. */
export async function connectClient(config: Config): Promise<{ client: Client; close: () => Promise<void> }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectOptions(config.temporalAddress, config.temporal), connectTimeout: 5_000 });
  } catch (err) {
    throw new Error(await temporalUnreachable(config.temporalAddress, config.temporal, err));
  }
  // Tracing on: the client's calls are spans, and their context travels to the workflows in headers.
  const interceptors = config.tracing.exporter !== 'none' ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {};
  return { client: new Client({ connection, namespace: config.temporalNamespace, ...interceptors }), close: () => connection.close() };
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
