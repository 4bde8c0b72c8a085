import { Client, Connection } from '@temporalio/client';
import type { Config } from '../../config/config.js';
import { createPipelineWorker } from '../../worker/createWorker.js';

/** Runs `fn` while a real worker (real Temporal, real MongoDB) serves the config's task queue. */
export async function withWorker<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const { worker, close } = await createPipelineWorker(config);
  const connection = await Connection.connect({ address: config.temporalAddress });
  try {
    const client = new Client({ connection, namespace: config.temporalNamespace });
    return await worker.runUntil(() => fn(client));
  } finally {
    await connection.close();
    await close();
  }
}
