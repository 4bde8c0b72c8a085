import { Runtime, type LogLevel } from '@temporalio/worker';
import { ConfigError, describeConfig, loadConfig } from '../config/config.js';
import { createRuntimeMetrics, startProcessMetrics } from '../activities/runs/metrics.js';
import { describeTemporalSecurity } from '../config/temporalConnection.js';
import { createPipelineWorker } from './createWorker.js';
import { LOG_LEVELS, jsonLogger } from './jsonLogger.js';
import { chooseMetricsAddress } from './metricsAddress.js';
import { startTracing } from './tracing.js';
import { packageVersion } from '../config/paths.js';

/** `moovitamix worker`: runs one worker in the foreground until SIGINT or SIGTERM. */
export async function runWorker(): Promise<void> {
  const config = loadConfig();
  const level = (process.env.MOOVITAMIX_LOG_LEVEL ?? 'INFO').toUpperCase() as LogLevel;
  if (!LOG_LEVELS.includes(level))
    throw new ConfigError(`MOOVITAMIX_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(process.env.MOOVITAMIX_LOG_LEVEL)})`);
  // One Prometheus endpoint for the SDK's runtime series and the pipeline's own (same meter).
  const metrics = await chooseMetricsAddress(config.metricsHost, config.metricsPort);
  const metricsAddress = metrics.address;
  Runtime.install({
    logger: jsonLogger(level),
    ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
  });
  const meter = Runtime.instance().metricMeter;
  const stopProcessMetrics = metricsAddress ? startProcessMetrics(meter) : () => {};
  const tracing = startTracing(config.tracing, 'moovitamix-worker', { version: packageVersion() });
  const { worker, close } = await createPipelineWorker(config, {
    ...(metricsAddress ? { metrics: createRuntimeMetrics(meter) } : {}),
    ...(tracing ? { tracing } : {}),
  });
  const shown = describeConfig(config);
  console.log(
    `Worker polling task queue "${config.taskQueue}" on ${config.temporalAddress} (namespace ${config.temporalNamespace}; ${describeTemporalSecurity(config.temporal)}); ` +
      `MongoDB ${shown.MONGODB_URI} db ${config.mongodbDb}; API ${config.apiUrl}; ` +
      `tracing ${shown.OTEL_TRACES_EXPORTER}; ` +
      metrics.description,
  );
  // The SDK's runtime shuts the worker down on SIGINT/SIGTERM; run() then resolves.
  try {
    await worker.run();
  } finally {
    stopProcessMetrics();
    await close();
    await tracing?.shutdown();
  }
  console.log('Worker stopped');
}
