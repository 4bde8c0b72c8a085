// npm run bench:ingest -- [--users N] [--tracks M] [--concurrency C] [--json]
//
// Measures the daily ingest against its limits, in one run, on servers of its own:
//   (a) fetchOnlyMs: every page fetched concurrently and parsed, nothing stored;
//   (b) writeOnlyMs: every document the pipeline writes (raw and curated) bulk-inserted
//       with the plain driver into the same store (documents prepared beforehand; only
//       the inserts are timed);
//   (c) pipelineMs: dailyPipeline end to end on an empty database, worker in its own process;
//   (d) sequentialFetchMs: one request at a time, as a naive client does.
// ratio = pipelineMs / max(fetchOnlyMs, writeOnlyMs); ingestMs (the slowest source, probe to
// merge end), healthMs (the checks, KPIs and alerts after it) and ingestRatio apart. Also the worker's peak RSS, the
// longest workflow history and the largest payload in any history.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { createHttpClient } from '../activities/ingest/httpClient.js';
import type { ServerHandle } from '../stack/servers.js';
import {
  allPages,
  cpuSeconds,
  fetchOnlyMs as fetchOnly,
  peakRssMb,
  startBenchServers,
  startBenchSimulator,
  startBenchWorker,
  writeCeiling,
} from './benchProcesses.js';
import type { dailyPipeline } from '../workflows/dailyPipeline.js';
import { SOURCE_NAMES } from '../contracts/names.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '200000' },
    tracks: { type: 'string', default: '50000' },
    concurrency: { type: 'string', default: '8' },
    json: { type: 'boolean', default: false },
  },
});
const users = Number(values.users);
const tracks = Number(values.tracks);
const concurrency = Number(values.concurrency);
const SEED = 'bench-ingest';
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'moovitamix-bench-'));
const servers: ServerHandle[] = [];
const children: ChildProcess[] = [];
try {
  const { config, temporal, mongoServer } = await startBenchServers(dir, log);
  servers.push(temporal, mongoServer);
  const mongo = await MongoClient.connect(mongoServer.address);

  const apiUrl = await startBenchSimulator(['--seed', SEED, '--tracks', String(tracks), '--users', String(users)], children);
  const pages = allPages(apiUrl, { tracks, users, listen_history: users });
  log(`${users} users, ${users} listen-history rows, ${tracks} tracks: ${pages.length} pages`);

  // (d) one request at a time.
  const http = createHttpClient({ timeoutMs: 30_000, maxSockets: 64 });
  let started = performance.now();
  for (const url of pages) JSON.parse((await http.get(url)).body as string);
  const sequentialFetchMs = Math.round(performance.now() - started);
  log(`sequential fetch: ${sequentialFetchMs} ms`);

  // (a) every page concurrently, as many requests in flight as the pipeline has.
  const fetchOnlyMs = await fetchOnly(pages, concurrency * SOURCE_NAMES.length);
  log(`fetch-only ceiling: ${fetchOnlyMs} ms`);

  // (b) the raw and curated documents of a first run, bulk-inserted.
  let storeCpu = cpuSeconds(mongoServer.pid);
  const writeOnlyMs = await writeCeiling(mongo.db('write_ceiling'), { seed: SEED, tracks, users, listenHistory: users });
  log(`write-only ceiling: ${writeOnlyMs} ms (store CPU ${(cpuSeconds(mongoServer.pid) - storeCpu).toFixed(1)} s)`);

  // (c) the pipeline, worker in a process of its own.
  const env = {
    ...process.env,
    MOOVITAMIX_API_URL: apiUrl,
    MONGODB_URI: mongoServer.address,
    MONGODB_DB: 'pipeline',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'bench',
    // Never the dev stack's ports: the stack may be running beside the benchmark.
    MOOVITAMIX_METRICS_PORT: '0',
    MOOVITAMIX_LOG_LEVEL: process.env.MOOVITAMIX_LOG_LEVEL ?? 'WARN',
  };
  // As the dev stack starts it (heap limit); BENCH_WORKER_NODE_ARGS replaces that, e.g.
  // "--max-old-space-size=256 --cpu-prof --cpu-prof-dir=/tmp/prof" to profile the worker.
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? `--max-old-space-size=${config.workerHeapMb}`).split(' ').filter(Boolean);
  const worker = await startBenchWorker(env, nodeArgs, children);
  worker.stdout?.on('data', (d: Buffer) => {
    if (process.env.BENCH_WORKER_LOG) process.stderr.write(d);
  });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  storeCpu = cpuSeconds(mongoServer.pid);
  const temporalCpu = cpuSeconds(temporal.pid);
  started = performance.now();
  const result = await client.workflow.execute<typeof dailyPipeline>('dailyPipeline', {
    workflowId: 'daily-bench',
    taskQueue: 'bench',
    args: [{ date: '2026-01-01', concurrency }],
  });
  const pipelineMs = Math.round(performance.now() - started);
  // The sources' own durations (probe to merge end, all in parallel); after them the run's health step.
  const ingestMs = Math.max(...SOURCE_NAMES.map((name) => result.sources[name]?.durationMs ?? 0));
  const workerPeakRssMb = peakRssMb(worker.pid as number);
  log(
    `pipeline: ${pipelineMs} ms, worker peak RSS ${workerPeakRssMb} MB, worker CPU ${cpuSeconds(worker.pid as number).toFixed(1)} s, store CPU ${(cpuSeconds(mongoServer.pid) - storeCpu).toFixed(1)} s, Temporal CPU ${(cpuSeconds(temporal.pid) - temporalCpu).toFixed(1)} s`,
  );
  for (const name of SOURCE_NAMES) {
    const s = result.sources[name];
    log(`  ${name}: ${s?.fetched} fetched, ${s?.inserted} inserted, fetch ${s?.fetchMs} ms, merge ${s?.mergeMs} ms, ${s?.curatedDocuments} curated`);
  }

  let maxHistoryEvents = 0;
  let maxPayloadBytes = 0;
  for (const workflowId of ['daily-bench', ...SOURCE_NAMES.map((s) => `daily-bench/${s}`)]) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    maxHistoryEvents = Math.max(maxHistoryEvents, history.events?.length ?? 0);
    for (const event of history.events ?? []) maxPayloadBytes = Math.max(maxPayloadBytes, payloadBytes(event));
  }
  await connection.close();
  await mongo.close();

  const figures = {
    users,
    listenHistory: users,
    tracks,
    pages: pages.length,
    concurrency,
    fetchOnlyMs,
    writeOnlyMs,
    pipelineMs,
    ratio: Number((pipelineMs / Math.max(fetchOnlyMs, writeOnlyMs)).toFixed(2)),
    ingestMs,
    healthMs: pipelineMs - ingestMs,
    ingestRatio: Number((ingestMs / Math.max(fetchOnlyMs, writeOnlyMs)).toFixed(2)),
    sequentialFetchMs,
    workerPeakRssMb,
    maxHistoryEvents,
    maxPayloadBytes,
  };
  console.log(values.json ? JSON.stringify(figures, null, 2) : figures);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r))));
  await Promise.all(servers.reverse().map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}

/** CPU time (user + system) a process has used so far, in seconds. */

/** The bytes of every payload an event carries (inputs, results, details, memo). */
function payloadBytes(event: object): number {
  let total = 0;
  const walk = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    if (value instanceof Uint8Array) return;
    const data = (value as { data?: unknown }).data;
    if ((value as { metadata?: unknown }).metadata && data instanceof Uint8Array) {
      total += data.length;
      return;
    }
    for (const inner of Object.values(value)) walk(inner);
  };
  walk(event);
  return total;
}
