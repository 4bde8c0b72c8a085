// npm run bench:daily -- [--scale S] [--users N] [--tracks N] [--concurrency C]
//
// A week of daily runs, as the product lives it, on servers of its own (Temporal, FerretDB,
// the simulator, one worker; free ports):
//   day 1: everything is new;  day 2: nothing changed;
//   day 3: 1 % updated, 0.5 % deleted, 0.5 % added per endpoint;  day 4: nothing changed.
// Prints one JSON line per day: the run's time and its ratio to day 1 and to the fetch-only
// and write-only ceilings (what a first run writes, bulk-inserted, measured first), the time of each step (the sources' fetch and merge, then each activity and child
// workflow of the run, first start to last end), what each source found, and the documents
// written per collection, counted on the wire between the worker and the database
// (bench/wireWriteCounter.ts): the store's own replies, so an update that changes nothing is
// a statement but no write.
// Default scale: 200,000 users and histories, 50,000 tracks; --scale 0.1 is a tenth of that.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import type { ServerHandle } from '../stack/servers.js';
import type { dailyPipeline } from '../workflows/dailyPipeline.js';
import {
  allPages,
  cpuSeconds,
  machineTicks,
  stealShare,
  fetchOnlyMs,
  peakRssMb,
  sampleRss,
  startBenchServers,
  startBenchSimulator,
  startBenchWorker,
  writeCeiling,
} from './benchProcesses.js';
import { WireWriteCounter, type CollectionWrites } from './wireWriteCounter.js';
import { SOURCE_NAMES } from '../contracts/names.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    users: { type: 'string' },
    tracks: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
  },
});
const scale = Number(values.scale);
if (!(scale > 0 && scale <= 10)) throw new Error(`--scale must be a number above 0 and at most 10, got ${values.scale}`);
const users = Number(values.users ?? Math.round(200_000 * scale));
const tracks = Number(values.tracks ?? Math.round(50_000 * scale));
const concurrency = Number(values.concurrency);
const SEED = 'bench-daily';
const DAYS = [
  { day: 1, change: 'everything new', mutate: null },
  { day: 2, change: 'nothing', mutate: null },
  { day: 3, change: '1 % updated, 0.5 % deleted, 0.5 % added per endpoint', mutate: 'updated=1&deleted=0.5&added=0.5' },
  { day: 4, change: 'nothing', mutate: null },
] as const;
const log = (line: string) => process.stderr.write(`[bench:daily] ${line}\n`);

const dir = mkdtempSync(join(tmpdir(), 'moovitamix-bench-daily-'));
const servers: ServerHandle[] = [];
const children: ChildProcess[] = [];
let counter: WireWriteCounter | undefined;
try {
  const { config, temporal: temporalServer, mongoServer } = await startBenchServers(dir, log);
  servers.push(temporalServer, mongoServer);
  const { hostname, port } = new URL(mongoServer.address);
  counter = await WireWriteCounter.start({ host: hostname, port: Number(port) });

  const apiUrl = await startBenchSimulator(['--seed', SEED, '--tracks', String(tracks), '--users', String(users)], children);
  const simulatorPid = children.at(-1)?.pid as number;
  const pages = allPages(apiUrl, { tracks, users, listen_history: users });
  const ceilingMs = await fetchOnlyMs(pages, concurrency * SOURCE_NAMES.length);
  log(`${users} users and histories, ${tracks} tracks: ${pages.length} pages; fetch-only ceiling ${ceilingMs} ms`);
  // What a first run writes (raw and curated), bulk-inserted into a database of its own: day 1's floor on this store.
  const ceilingClient = await MongoClient.connect(mongoServer.address);
  const ceilingTicks = machineTicks();
  const writeOnlyMs = await writeCeiling(ceilingClient.db('write_ceiling'), { seed: SEED, tracks, users, listenHistory: users });
  await ceilingClient.db('write_ceiling').dropDatabase();
  await ceilingClient.close();
  const writeOnlyStealShare = stealShare(ceilingTicks, machineTicks());
  log(`write-only ceiling ${writeOnlyMs} ms (steal ${writeOnlyStealShare})`);

  const worker = await startBenchWorker(
    {
      ...process.env,
      MOOVITAMIX_API_URL: apiUrl,
      MONGODB_URI: `mongodb://127.0.0.1:${counter.port}/?directConnection=true`,
      MONGODB_DB: 'daily',
      TEMPORAL_ADDRESS: temporalServer.address,
      TEMPORAL_TASK_QUEUE: 'bench-daily',
      // Never the dev stack's ports: the stack may be running beside the benchmark.
      MOOVITAMIX_METRICS_PORT: '0',
      // INFO: the merge's "source merged" line gives each of its phases.
      MOOVITAMIX_LOG_LEVEL: process.env.MOOVITAMIX_LOG_LEVEL ?? 'INFO',
    },
    [`--max-old-space-size=${config.workerHeapMb}`],
    children,
  );
  const mergePhases = watchMergePhases(worker);
  const rss = sampleRss(worker.pid as number);
  const connection = await Connection.connect({ address: temporalServer.address });
  const client = new Client({ connection });
  counter.take();

  let day1Ms = 0;
  for (const { day, change, mutate } of DAYS) {
    if (mutate) {
      const response = await fetch(`${apiUrl}/__simulator/mutate?${mutate}`, { method: 'POST' });
      log(`day ${day}: simulator mutated: ${await response.text()}`);
    }
    const workflowId = `daily-2026-01-0${day}`;
    const workerCpu = cpuSeconds(worker.pid as number);
    const storeCpu = cpuSeconds(mongoServer.pid);
    const temporalCpu = cpuSeconds(temporalServer.pid);
    const simulatorCpu = cpuSeconds(simulatorPid);
    const ticks = machineTicks();
    rss.take();
    const started = performance.now();
    const result = await client.workflow.execute<typeof dailyPipeline>('dailyPipeline', {
      workflowId,
      taskQueue: 'bench-daily',
      args: [{ date: `2026-01-0${day}`, concurrency }],
    });
    const runMs = Math.round(performance.now() - started);
    if (day === 1) day1Ms = runMs;
    const writes = counter.take();
    const dayRss = rss.take();
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const figures = {
      day,
      change,
      scale: { users, listenHistory: users, tracks },
      runMs,
      ratioToDay1: Number((runMs / day1Ms).toFixed(2)),
      ratioToFetchOnly: Number((runMs / ceilingMs).toFixed(2)),
      ratioToWriteOnly: Number((runMs / writeOnlyMs).toFixed(2)),
      fetchOnlyMs: ceilingMs,
      writeOnlyMs,
      writeOnlyStealShare,
      sources: Object.fromEntries(
        SOURCE_NAMES.map((name) => {
          const s = result.sources[name];
          const phases = mergePhases.get(name);
          mergePhases.delete(name);
          return [
            name,
            {
              fetchMs: s?.fetchMs,
              mergeMs: s?.mergeMs,
              mergePhases: phases,
              inserted: s?.inserted,
              updated: s?.updated,
              unchanged: s?.unchanged,
              tombstoned: s?.tombstoned,
              curated: s?.curatedDocuments,
            },
          ];
        }),
      ),
      steps: stepSpans(history.events ?? []),
      recommendations: result.recommendations,
      drift: result.drift?.status,
      writesTotal: total(writes),
      writes,
      workerCpuS: Number((cpuSeconds(worker.pid as number) - workerCpu).toFixed(1)),
      storeCpuS: Number((cpuSeconds(mongoServer.pid) - storeCpu).toFixed(1)),
      // The rest of the machine's work during the run: on 2 cores, all four share the CPU.
      temporalCpuS: Number((cpuSeconds(temporalServer.pid) - temporalCpu).toFixed(1)),
      simulatorCpuS: Number((cpuSeconds(simulatorPid) - simulatorCpu).toFixed(1)),
      // The share of the machine's CPU the hypervisor gave to other guests meanwhile: a day
      // measured while it was high ran slower for that reason alone.
      stealShare: stealShare(ticks, machineTicks()),
      // The day's highest resident memory (sampled every 250 ms), when in the run it was
      // seen, and the worker's highest since it started.
      workerDayPeakRssMb: dayRss.peakMb,
      workerDayPeakAtMs: dayRss.atMs,
      workerPeakRssMb: peakRssMb(worker.pid as number),
    };
    console.log(JSON.stringify(figures));
    log(
      `day ${day} (${change}): ${runMs} ms, ${figures.ratioToDay1}x day 1; ${figures.writesTotal.inserted + figures.writesTotal.modified + figures.writesTotal.deleted} documents written`,
    );
  }
  rss.stop();
  await connection.close();
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r))));
  await counter?.close();
  await Promise.all(servers.reverse().map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}

/** The phases (`...Ms`) of each source's latest merge, and the run it repeated if it did, from the worker's "source merged" log lines. */
function watchMergePhases(worker: ChildProcess): Map<string, Record<string, number | string>> {
  const phases = new Map<string, Record<string, number | string>>();
  let pending = '';
  worker.stdout?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"source merged"')) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      const timings = Object.fromEntries(Object.entries(entry).filter(([k, v]) => k.endsWith('Ms') && typeof v === 'number')) as Record<
        string,
        number | string
      >;
      // A merge that repeated an earlier one's pages (merge/repeatPages.ts) names that run.
      if (typeof entry.repeatOf === 'string') timings.repeatOf = entry.repeatOf;
      phases.set(String(entry.source), timings);
    }
  });
  return phases;
}

function total(writes: Record<string, CollectionWrites>): CollectionWrites {
  const sum = { inserted: 0, modified: 0, deleted: 0, statements: 0, commands: 0 };
  for (const w of Object.values(writes)) for (const k of Object.keys(sum) as (keyof CollectionWrites)[]) sum[k] += w[k];
  return sum;
}

/**
 * Each activity type and child workflow of the run: milliseconds from its first start to its
 * last end, and how many ran (recordRun runs at the start and at the end: its span is the run's).
 */
type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

function stepSpans(events: HistoryEvent[]): Record<string, { ms: number; n: number }> {
  const at = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.round((e.eventTime?.nanos ?? 0) / 1e6);
  const started = new Map<number, { name: string; at: number }>();
  const spans = new Map<string, { from: number; to: number; n: number }>();
  for (const e of events) {
    const id = Number(e.eventId);
    const scheduled = e.activityTaskScheduledEventAttributes?.activityType?.name ?? e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowType?.name;
    if (scheduled) {
      started.set(id, { name: scheduled, at: at(e) });
      continue;
    }
    const origin =
      e.activityTaskCompletedEventAttributes?.scheduledEventId ??
      e.activityTaskFailedEventAttributes?.scheduledEventId ??
      e.activityTaskTimedOutEventAttributes?.scheduledEventId ??
      e.childWorkflowExecutionCompletedEventAttributes?.initiatedEventId ??
      e.childWorkflowExecutionFailedEventAttributes?.initiatedEventId;
    const start = origin === undefined || origin === null ? undefined : started.get(Number(origin));
    if (!start) continue;
    const span = spans.get(start.name) ?? { from: start.at, to: at(e), n: 0 };
    spans.set(start.name, { from: Math.min(span.from, start.at), to: Math.max(span.to, at(e)), n: span.n + 1 });
  }
  return Object.fromEntries([...spans].map(([name, s]) => [name, { ms: s.to - s.from, n: s.n }]));
}
