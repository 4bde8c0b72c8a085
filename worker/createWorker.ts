import { NativeConnection, Worker } from '@temporalio/worker';
import { MongoClient } from 'mongodb';
import { createActivities } from '../activities/index.js';
import { createHttpClient } from '../activities/ingest/httpClient.js';
import { DEFAULT_RETRY_POLICY } from '../activities/ingest/requestPage.js';
import { ScoringPool } from '../models/scoringPool.js';
import { StagingPool } from '../activities/ingest/stagingPool.js';
import { LocalStagedPages } from '../stores/localStagedPages.js';
import type { PipelineMetrics } from '../activities/runs/metrics.js';
import type { Config } from '../config/config.js';
import { connectOptions } from '../config/temporalConnection.js';
import { temporalUnreachable } from '../config/temporalTlsProbe.js';
import { describeGaps, searchAttributeGaps } from '../stack/searchAttributes.js';
import { activityTracingInterceptors, traceMongoCommands, workflowTracingSinks, WORKFLOW_TRACING_MODULE, type Tracing } from './tracing.js';
import { redactUri } from '../config/redact.js';
import { freshPrebuiltBundle, workflowsPath } from './workflowBundle.js';

export interface PipelineWorker {
  worker: Worker;
  /** Closes what the worker opened (Temporal and MongoDB connections); call after it stops. */
  close(): Promise<void>;
}

/**
 * Connects to MongoDB and Temporal and creates a worker for the pipeline's task queue.
 * The worker process and the end-to-end tests both use it.
 */
export async function createPipelineWorker(
  config: Config,
  options: { identity?: string; metrics?: PipelineMetrics; tracing?: Tracing } = {},
): Promise<PipelineWorker> {
  const { tracing } = options;
  const mongo = new MongoClient(config.mongodbUri, { appName: 'moovitamix-worker', serverSelectionTimeoutMS: 10_000, monitorCommands: tracing !== undefined });
  if (tracing) traceMongoCommands(mongo, tracing.tracer);
  try {
    await mongo.connect();
    await mongo.db(config.mongodbDb).command({ ping: 1 });
  } catch (err) {
    await mongo.close().catch(() => {});
    throw new Error(`Cannot reach MongoDB at ${redactUri(config.mongodbUri)}: ${(err as Error).message}`);
  }

  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(connectOptions(config.temporalAddress, config.temporal));
  } catch (err) {
    await mongo.close();
    throw new Error(await temporalUnreachable(config.temporalAddress, config.temporal, err));
  }

  // Workflows that set search attributes the namespace lacks would fail every task: refuse to start instead.
  // A connection that may not list them (a restricted API key) starts: the runs will say so if they are missing.
  const gaps = await searchAttributeGaps(connection.operatorService, config.temporalNamespace).catch((err: unknown) => {
    console.warn(`moovitamix worker: could not list the search attributes of ${config.temporalNamespace}: ${(err as Error).message}`);
    return undefined;
  });
  if (gaps && gaps.missing.length + gaps.wrongType.length > 0) {
    await Promise.allSettled([connection.close(), mongo.close()]);
    throw new Error(describeGaps(gaps, config.temporalNamespace));
  }

  const scoringPool = new ScoringPool(config.recommend.threads);
  const stagingPool = new StagingPool(config.stagingThreads);
  const localPages = new LocalStagedPages();
  const activities = createActivities({
    db: mongo.db(config.mongodbDb),
    http: createHttpClient({ timeoutMs: config.http.timeoutMs, maxSockets: 64 }),
    apiUrl: config.apiUrl,
    retryPolicy: { ...DEFAULT_RETRY_POLICY, maxAttempts: config.http.maxAttempts, baseDelayMs: config.http.backoffMs },
    maxResponseBytes: config.http.maxResponseBytes,
    quality: config.quality,
    alertWebhookUrl: config.alertWebhookUrl,
    recommend: config.recommend,
    training: config.training,
    canaryShare: config.canaryShare,
    scoringPool,
    stagingPool,
    localPages,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  const bundle = freshPrebuiltBundle(tracing !== undefined);
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      activities,
      ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath }),
      // Tracing: the traced bundle has the workflow interceptors in it, a bundle made here gets them too.
      ...(tracing
        ? {
            interceptors: { ...(bundle ? {} : { workflowModules: [WORKFLOW_TRACING_MODULE] }), activity: activityTracingInterceptors(tracing) },
            sinks: workflowTracingSinks(tracing),
          }
        : {}),
      ...(options.identity ? { identity: options.identity } : {}),
      shutdownGraceTime: '10 seconds',
    });
    return {
      worker,
      close: async () => {
        await scoringPool.close();
        await stagingPool.close();
        localPages.close();
        await connection.close();
        await mongo.close();
      },
    };
  } catch (err) {
    await scoringPool.close();
    await stagingPool.close();
    localPages.close();
    await connection.close();
    await mongo.close();
    throw err;
  }
}
