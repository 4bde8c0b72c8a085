import { describeConfig, loadConfig } from '../config/config.js';
import { createPipelineWorker } from './createWorker.js';

/** `moovitamix worker`: runs one worker in the foreground until SIGINT or SIGTERM. */
export async function runWorker(): Promise<void> {
  const config = loadConfig();
  const { worker, close } = await createPipelineWorker(config);
  const shown = describeConfig(config);
  console.log(
    `Worker polling task queue "${config.taskQueue}" on ${config.temporalAddress} (namespace ${config.temporalNamespace}); ` +
      `MongoDB ${shown.MONGODB_URI} db ${config.mongodbDb}; API ${config.apiUrl}`,
  );
  // The SDK's runtime shuts the worker down on SIGINT/SIGTERM; run() then resolves.
  try {
    await worker.run();
  } finally {
    await close();
  }
  console.log('Worker stopped');
}
