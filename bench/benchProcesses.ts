import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Collection, Db } from 'mongodb';
import { contentHash } from '../activities/ingest/canonicalJson.js';
import { pageUrl } from '../activities/ingest/fetchPage.js';
import { createHttpClient } from '../activities/ingest/httpClient.js';
import { projectRoot } from '../config/paths.js';
import { SOURCES } from '../sources/index.js';
import { loadConfig, type Config } from '../config/config.js';
import { generateDataset } from '../simulator/dataset.js';
import { startThrowawayMongo, startThrowawayTemporal, type ServerHandle } from '../stack/servers.js';
import { SOURCE_NAMES, type SourceName } from '../contracts/names.js';

/** The servers a benchmark runs on: a Temporal dev server and FerretDB, as on the dev stack and in CI here. */
export async function startBenchServers(
  dir: string,
  log: (line: string) => void,
): Promise<{ config: Config; temporal: ServerHandle; mongoServer: ServerHandle }> {
  const config = loadConfig({ ...process.env, MONGODB_URI: undefined });
  const temporal = await startThrowawayTemporal(config.cacheDir, dir, log);
  // FerretDB with its default durability. MOOVITAMIX_BENCH_STORE_PPROF=HOST:PORT: it serves Go's pprof profiles there.
  const debugAddr = process.env.MOOVITAMIX_BENCH_STORE_PPROF;
  const mongoServer = await startThrowawayMongo(config.cacheDir, dir, log, {
    preferMongod: false,
    sqliteSynchronous: 'normal',
    ...(debugAddr ? { debugAddr } : {}),
  }).catch(async (err: unknown) => {
    await temporal.stop();
    throw err;
  });
  return { config, temporal, mongoServer };
}

/** A command-line option that must be a positive whole number. */
export function positiveOption(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got ${text}`);
  return n;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * The machine's CPU time so far, all cores, and the part of it the hypervisor gave to
 * other guests (steal): on a shared virtual machine a benchmark slows down while others
 * run, so each figure says how much that happened.
 */
export function machineTicks(): { total: number; steal: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
}

/** The share of the machine's CPU time stolen between two machineTicks(). */
export function stealShare(before: { total: number; steal: number }, after: { total: number; steal: number }): number {
  const total = after.total - before.total;
  return total > 0 ? Number(((after.steal - before.steal) / total).toFixed(2)) : 0;
}

/** VmHWM: the process's peak resident set. */
export function peakRssMb(pid: number | 'self'): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

/**
 * Samples a process's resident memory (VmRSS) every `everyMs`: `take()` gives the highest
 * sample since the last take and when it was seen, so each day of a run gets its own peak
 * (VmHWM only ever grows).
 */
export function sampleRss(pid: number, everyMs = 250): { take(): { peakMb: number; atMs: number }; stop(): void } {
  let since = performance.now();
  let peak = { kb: 0, at: since };
  const timer = setInterval(() => {
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    if (kb > peak.kb) peak = { kb, at: performance.now() };
  }, everyMs).unref();
  return {
    take() {
      const out = { peakMb: Math.round(peak.kb / 1024), atMs: Math.round(peak.at - since) };
      since = performance.now();
      peak = { kb: 0, at: since };
      return out;
    },
    stop: () => clearInterval(timer),
  };
}

/** Resolves with the child's stdout once it has printed `text`; rejects if it exits first. */
export function waitFor(child: ChildProcess, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      if (out.includes(text)) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
}

/** `moovitamix worker` in a process of its own, with `env` and Node options; resolves once it polls its task queue. */
export async function startBenchWorker(env: NodeJS.ProcessEnv, nodeArgs: string[], children: ChildProcess[]): Promise<ChildProcess> {
  // MOOVITAMIX_BENCH_CPU_PROF=DIR: the worker writes a V8 CPU profile there when it exits (for Chrome DevTools).
  const profile = process.env.MOOVITAMIX_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.MOOVITAMIX_BENCH_CPU_PROF}`] : [];
  const worker = spawn(process.execPath, [...nodeArgs, ...profile, join(projectRoot, 'bin', 'moovitamix.js'), 'worker'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(worker);
  // MOOVITAMIX_BENCH_WORKER_LOG=FILE: the worker's log lines (each step's phases) are kept there.
  if (process.env.MOOVITAMIX_BENCH_WORKER_LOG) worker.stdout?.pipe(createWriteStream(process.env.MOOVITAMIX_BENCH_WORKER_LOG));
  await waitFor(worker, 'Worker polling');
  return worker;
}

/** The simulator in a process of its own on a free port, serving a seeded dataset; resolves to its base URL. */
export async function startBenchSimulator(args: string[], children: ChildProcess[]): Promise<string> {
  const simulator = spawn(process.execPath, [join(projectRoot, 'bin', 'moovitamix.js'), 'simulator', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(simulator);
  return new Promise<string>((resolve, reject) => {
    simulator.stdout?.on('data', (d: Buffer) => {
      const m = /listening on (http:\/\/\S+)/.exec(String(d));
      if (m?.[1]) resolve(m[1]);
    });
    simulator.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}

/** Every page of every source, as URLs of pages of 100. */
export function allPages(apiUrl: string, counts: Record<SourceName, number>): string[] {
  return SOURCE_NAMES.flatMap((name) => Array.from({ length: Math.ceil(counts[name] / 100) }, (_, i) => pageUrl(apiUrl, SOURCES[name].path, i + 1, 100)));
}

/** The fetch-only ceiling: every page fetched and parsed, `inFlight` requests at a time, as the pipeline has them. */
export async function fetchOnlyMs(pages: string[], inFlight: number): Promise<number> {
  const http = createHttpClient({ timeoutMs: 30_000, maxSockets: 64 });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < pages.length) JSON.parse((await http.get(pages[next++] as string)).body as string);
    }),
  );
  return Math.round(performance.now() - started);
}

/** Builds, outside the timer, what a first run writes, and times its bulk insertion. */
export async function writeCeiling(db: Db, data: { seed: string; tracks: number; users: number; listenHistory: number }): Promise<number> {
  const dataset = generateDataset(data);
  const now = new Date();
  // The same documents the pipeline writes: its run ids are Temporal run ids.
  const run = '01a2061c-45b3-763e-9dcb-0a473f60b569';
  let elapsed = 0;
  for (const name of SOURCE_NAMES) {
    const source = SOURCES[name];
    const records = dataset.records[name];
    // Chunks bound the memory; within a chunk, inserts run four at a time, as fast as the store takes them.
    for (let from = 0; from < records.length; from += 50_000) {
      const raw = [];
      const curated = [];
      for (const text of records.slice(from, from + 50_000)) {
        const record = JSON.parse(text) as Record<string, unknown>;
        const key = String(record[source.keyField]);
        raw.push({ _id: key, record, hash: contentHash(record), first_seen_run: run, first_seen_at: now, version_run: run, version_at: now });
        curated.push(...source.curate(record));
      }
      const started = performance.now();
      await insertAll(db.collection<{ _id: string }>(source.rawCollection), raw);
      await insertAll(db.collection<{ _id: string }>(source.curatedCollection), curated);
      elapsed += performance.now() - started;
    }
  }
  return Math.round(elapsed);
}

async function insertAll(collection: Collection<{ _id: string }>, docs: { _id: string }[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < docs.length) {
        const batch = docs.slice(next, next + 1000);
        next += 1000;
        await collection.insertMany(batch, { ordered: false });
      }
    }),
  );
}
