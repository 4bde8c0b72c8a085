// npm run bench:recommend -- [--users N] [--tracks M] [--listens L] [--pipeline-users N]
//                             [--pipeline-tracks M] [--rate R] [--seconds S] [--json]
//
// Measures the recommendation step against its targets, on servers of its own:
//   (a) scoring: item-kNN (50 neighbours, cosine) fitted on N users x M tracks x L listens
//       each (power-law popularity), then every user's top 20 scored in chunks of 5,000 on
//       the scoring pool's worker threads (one per core), in a process of its own: wall
//       time, CPU time (both cores: CPU ~ 2 x wall) and peak RSS. Default 1,000,000 x 100,000 x 5.
//   (b) pipeline: the recommend workflow end to end on FerretDB, worker in its own process
//       (as the dev stack starts it): --pipeline-users users (default 50,000) loaded into
//       the curated and raw layers beforehand, an item-kNN champion in the registry; a full
//       run, then an incremental run with nothing changed (unchanged: nothing written),
//       then one after 1 % of the histories changed (an overlay of those users' lists):
//       time and per-user documents written. Serving then reads through that overlay.
//   (c) serving: `moovitamix serve` in its own process, GET /users/:id/recommendations for
//       random users at --rate requests/s (default 500) for --seconds (default 30) with
//       autocannon over loopback, after 5 s of warm-up: p50, p99, max latency, errors and
//       non-2xx answers. The worker and Temporal are stopped first, as on a serving host.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Client, Connection } from '@temporalio/client';
import { MongoClient, type Db } from 'mongodb';
import { registerModel, setAlias } from '../stores/modelRegistry.js';
import { projectRoot } from '../config/paths.js';
import { fitItemKnn } from '../models/itemKnn.js';
import type { ServerHandle } from '../stack/servers.js';
import { cpuSeconds, peakRssMb, startBenchServers, waitFor } from './benchProcesses.js';
import type { recommend } from '../workflows/recommend.js';
import { genreOf, syntheticListens } from './syntheticListens.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '1000000' },
    tracks: { type: 'string', default: '100000' },
    listens: { type: 'string', default: '5' },
    'pipeline-users': { type: 'string', default: '50000' },
    'pipeline-tracks': { type: 'string', default: '10000' },
    rate: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '30' },
    json: { type: 'boolean', default: false },
  },
});
const users = Number(values.users);
const tracks = Number(values.tracks);
const listens = Number(values.listens);
const pipelineUsers = Number(values['pipeline-users']);
const pipelineTracks = Number(values['pipeline-tracks']);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const threads = Math.max(1, availableParallelism());
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// (a) scoring, in a process of its own.
log(`scoring: ${users} users x ${tracks} tracks x ${listens} listens, ${threads} threads`);
const scoring = JSON.parse(
  await output(
    spawn(
      process.execPath,
      [
        join(projectRoot, 'dist', 'bench', 'recommendScore.js'),
        '--users',
        String(users),
        '--tracks',
        String(tracks),
        '--listens',
        String(listens),
        '--threads',
        String(threads),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  ),
) as Record<string, number>;
log(`scoring: fit ${scoring.fitMs} ms, score ${scoring.scoreMs} ms (CPU ${scoring.scoreCpuSeconds} s), peak RSS ${scoring.peakRssMb} MB`);

const dir = mkdtempSync(join(tmpdir(), 'moovitamix-bench-'));
const servers: ServerHandle[] = [];
const children: ChildProcess[] = [];
try {
  const { config, temporal, mongoServer } = await startBenchServers(dir, log);
  servers.push(temporal, mongoServer);
  const mongo = await MongoClient.connect(mongoServer.address);
  const db = mongo.db('recommend');

  // (b) the pipeline on FerretDB.
  log(`pipeline: loading ${pipelineUsers} users, their histories and ${pipelineTracks} tracks`);
  const items = syntheticListens(pipelineUsers, pipelineTracks, listens, 2);
  await load(db, items);
  const model = fitItemKnn(
    { nUsers: pipelineUsers, nItems: pipelineTracks, offsets: Int32Array.from({ length: pipelineUsers + 1 }, (_, u) => u * listens), items },
    Float64Array.from({ length: pipelineTracks }, (_, i) => i + 1),
    { neighbors: 50 },
  );
  await setAlias(db, 'champion', (await registerModel(db, { name: 'bench-knn', model }))._id, 'bench');

  const env = {
    ...process.env,
    MONGODB_URI: mongoServer.address,
    MONGODB_DB: 'recommend',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'bench',
    MOOVITAMIX_METRICS_PORT: '0',
    MOOVITAMIX_LOG_LEVEL: 'WARN',
  };
  const worker = spawn(process.execPath, [`--max-old-space-size=${config.workerHeapMb}`, join(projectRoot, 'bin', 'moovitamix.js'), 'worker'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(worker);
  await waitFor(worker, 'Worker polling');
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const storeCpu = cpuSeconds(mongoServer.pid);
  let started = performance.now();
  const full = await client.workflow.execute<typeof recommend>('recommend', { workflowId: 'bench-full', taskQueue: 'bench', args: [{ mode: 'full' }] });
  const pipelineFullMs = Math.round(performance.now() - started);
  log(
    `pipeline full: ${pipelineFullMs} ms for ${full.users} users (${full.chunks} chunks), store CPU ${(cpuSeconds(mongoServer.pid) - storeCpu).toFixed(1)} s`,
  );
  started = performance.now();
  const incremental = await client.workflow.execute<typeof recommend>('recommend', { workflowId: 'bench-incremental', taskQueue: 'bench', args: [{}] });
  const pipelineIncrementalMs = Math.round(performance.now() - started);
  log(
    `pipeline incremental: ${pipelineIncrementalMs} ms, ${incremental.carried} carried over, ${incremental.status ?? 'published'}, ${incremental.documents ?? incremental.users} documents written`,
  );
  // 1 % of the histories change (their tracks shifted by one): those users are computed again.
  const changedUsers = Math.max(1, Math.floor(pipelineUsers / 100));
  log(`pipeline: changing ${changedUsers} histories`);
  // Replaced by one delete ($in) and one insert: a bulk of 200 updateOne by _id on
  // FerretDB (20,000 histories, a loaded machine) had not finished after 90 s.
  const changedIds = Array.from({ length: changedUsers }, (_, n) => n * 100);
  const raw = db.collection<{ _id: string }>('raw_listen_history');
  await raw.deleteMany({ _id: { $in: changedIds.map((u) => String(u + 1)) } });
  await raw.insertMany(
    changedIds.map((u) => ({
      _id: String(u + 1),
      record: { user_id: u + 1, items: Array.from(items.subarray(u * listens, (u + 1) * listens), (i) => 1 + ((i + 1) % pipelineTracks)) },
      deleted_at: null,
    })),
    { ordered: false },
  );
  started = performance.now();
  const changed = await client.workflow.execute<typeof recommend>('recommend', { workflowId: 'bench-changed', taskQueue: 'bench', args: [{}] });
  const pipelineChangedMs = Math.round(performance.now() - started);
  log(
    `pipeline 1 % changed: ${pipelineChangedMs} ms, ${changed.computed} computed, ${changed.layout ?? 'full'}, ${changed.documents ?? changed.users} documents written`,
  );
  const workerPeakRssMb = peakRssMb(worker.pid as number);
  const history = await client.workflow.getHandle('bench-full').fetchHistory();
  await connection.close();
  // Serving needs the database only: the worker and Temporal stop, as on a serving host.
  worker.kill('SIGTERM');
  await new Promise((resolve) => worker.once('exit', resolve));
  await temporal.stop();
  servers.splice(servers.indexOf(temporal), 1);

  // (c) serving, from its own process.
  const service = spawn(process.execPath, [join(projectRoot, 'bin', 'moovitamix.js'), 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(service);
  const url = /http:\/\/\S+?\//.exec(await waitFor(service, 'Serving on'))?.[0] as string;
  let userSeed = 7;
  const randomUser = (req: autocannon.Request) => {
    userSeed = (userSeed * 1103515245 + 12345) % 2147483648;
    return { ...req, path: `/users/${1 + (userSeed % Number(process.env.BENCH_SERVE_USERS ?? pipelineUsers))}/recommendations?limit=20` };
  };
  // Warm-up, not measured: JIT, the driver's connection pool (other users than those measured).
  await autocannon({ url, connections: Number(process.env.BENCH_CONNECTIONS ?? 10), overallRate: rate, duration: 5, requests: [{ setupRequest: randomUser }] });
  const serveCpu = { store: cpuSeconds(mongoServer.pid), service: cpuSeconds(service.pid as number), bench: process.cpuUsage() };
  const load_ = await autocannon({
    url,
    connections: Number(process.env.BENCH_CONNECTIONS ?? 10),
    overallRate: rate,
    duration: seconds,
    requests: [{ setupRequest: randomUser }],
  });
  const benchCpu = process.cpuUsage(serveCpu.bench);
  log(
    `serving: ${load_.requests.average} req/s, p50 ${load_.latency.p50} ms, p99 ${load_.latency.p99} ms, errors ${load_.errors}, non-2xx ${load_.non2xx}; ` +
      `CPU s: store ${(cpuSeconds(mongoServer.pid) - serveCpu.store).toFixed(1)}, service ${(cpuSeconds(service.pid as number) - serveCpu.service).toFixed(1)}, load generator ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)}`,
  );
  await mongo.close();

  const figures = {
    users,
    tracks,
    listensPerUser: listens,
    threads,
    fitMs: scoring.fitMs,
    scoreMs: scoring.scoreMs,
    scoreCpuSeconds: scoring.scoreCpuSeconds,
    fitAndScoreMs: (scoring.fitMs ?? 0) + (scoring.scoreMs ?? 0),
    scoringPeakRssMb: scoring.peakRssMb,
    recommendations: scoring.recommendations,
    pipelineUsers,
    pipelineTracks,
    pipelineFullMs,
    pipelineUsersPerSecond: Math.round(full.users / (pipelineFullMs / 1000)),
    pipelineIncrementalMs,
    incrementalCarried: incremental.carried,
    incrementalStatus: incremental.status ?? 'published',
    incrementalDocuments: incremental.documents ?? incremental.users,
    pipelineChangedMs,
    changedComputed: changed.computed,
    changedLayout: changed.layout ?? 'full',
    changedDocuments: changed.documents ?? changed.users,
    pipelineHistoryEvents: history.events?.length ?? 0,
    workerPeakRssMb,
    serveRate: rate,
    serveSeconds: seconds,
    serveRequests: load_.requests.total,
    serveRequestsPerSecond: load_.requests.average,
    serveP50Ms: load_.latency.p50,
    serveP90Ms: load_.latency.p90,
    serveP99Ms: load_.latency.p99,
    serveMaxMs: load_.latency.max,
    serveErrors: load_.errors + load_.timeouts,
    serveNon2xx: load_.non2xx,
  };
  console.log(values.json ? JSON.stringify(figures) : figures);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r))));
  await Promise.all(servers.reverse().map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}

/** The curated users and tracks and the raw histories the recommend step reads (not timed). */
async function load(db: Db, items: Int32Array): Promise<void> {
  const insert = async (name: string, make: (i: number) => Record<string, unknown>, count: number) => {
    for (let from = 0; from < count; from += 5000) {
      await db.collection(name).insertMany(Array.from({ length: Math.min(5000, count - from) }, (_, n) => make(from + n)) as never[], { ordered: false });
    }
  };
  await insert('tracks', (i) => ({ _id: String(i + 1), id: i + 1, genres: genreOf(i).toLowerCase() }), pipelineTracks);
  await insert('users', (u) => ({ _id: String(u + 1), id: u + 1, favorite_genres: genreOf(u * 7) }), pipelineUsers);
  await insert(
    'raw_listen_history',
    (u) => ({
      _id: String(u + 1),
      record: { user_id: u + 1, items: Array.from(items.subarray(u * listens, (u + 1) * listens), (i) => i + 1) },
      deleted_at: null,
    }),
    pipelineUsers,
  );
}

function output(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d));
    child.once('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').pop() as string) : reject(new Error(`exit ${code}: ${out}`))));
  });
}
