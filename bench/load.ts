// npm run bench:load -- [--rate 1000] [--seconds 60] [--users 50000] [--connections 20] [--json]
//
// The recommendations API under a fixed load, on servers of its own: FerretDB (SQLite,
// default durability) holding one published batch of --users users' lists (20 tracks each,
// written directly with the store's shapes: no Temporal, no pipeline), `moovitamix serve`
// in its own process, 10 s of warm-up, then autocannon at --rate requests/s for --seconds
// over loopback, each request for a random user: GET /users/:id/recommendations?limit=10.
// Prints one line: requests/s achieved, latency p50, p90, p99 and max (ms), errors
// (connection errors and timeouts) and non-2xx answers; --json prints it as JSON.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { MongoClient, type Db } from 'mongodb';
import {
  ACTIVE_ID,
  BATCHES,
  STATE,
  batchCollection,
  type BatchDocument,
  type RecommendationDocument,
  type RecommendedItem,
  type StateDocument,
} from '../stores/recommendations.js';
import { encodeItems } from '../stores/recommendedItems.js';
import { loadConfig } from '../config/config.js';
import { projectRoot } from '../config/paths.js';
import { startThrowawayMongo, type ServerHandle } from '../stack/servers.js';
import { cpuSeconds, positiveOption as positive, waitFor } from './benchProcesses.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
    users: { type: 'string', default: '50000' },
    connections: { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const rate = positive('rate', values.rate);
const seconds = positive('seconds', values.seconds);
const users = positive('users', values.users);
const connections = positive('connections', values.connections);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const BATCH = 'bench-load-1';
const MODEL = 'item-knn@1';

const dir = mkdtempSync(join(tmpdir(), 'moovitamix-bench-load-'));
let mongoServer: ServerHandle | undefined;
let service: ChildProcess | undefined;
try {
  mongoServer = await startThrowawayMongo(loadConfig({ ...process.env, MONGODB_URI: undefined }).cacheDir, dir, log, {
    preferMongod: false,
    sqliteSynchronous: 'normal',
  });
  const mongo = await MongoClient.connect(mongoServer.address);
  log(`writing a published batch of ${users} users' lists`);
  await writeBatch(mongo.db('load'), users);
  await mongo.close();

  const env = { ...process.env, MONGODB_URI: mongoServer.address, MONGODB_DB: 'load', MOOVITAMIX_LOG_LEVEL: 'WARN' };
  service = spawn(process.execPath, [join(projectRoot, 'bin', 'moovitamix.js'), 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = /http:\/\/\S+?\//.exec(await waitFor(service, 'Serving on'))?.[0] as string;

  let seed = 12_345;
  const randomUser = (req: autocannon.Request) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return { ...req, path: `/users/${1 + (seed % users)}/recommendations?limit=10` };
  };
  log(`warm-up: 10 s at ${rate} requests/s`);
  await autocannon({ url, connections, overallRate: rate, duration: 10, requests: [{ setupRequest: randomUser }] });
  const cpu = { store: cpuSeconds(mongoServer.pid), service: cpuSeconds(service.pid as number) };
  log(`measuring: ${seconds} s at ${rate} requests/s, ${connections} connections`);
  const result = await autocannon({ url, connections, overallRate: rate, duration: seconds, requests: [{ setupRequest: randomUser }] });
  const figures = {
    users,
    rate,
    seconds,
    connections,
    requests: result.requests.total,
    requestsPerSecond: Math.round((result.requests.total / result.duration) * 10) / 10,
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    serviceCpuSeconds: Math.round((cpuSeconds(service.pid as number) - cpu.service) * 10) / 10,
    storeCpuSeconds: Math.round((cpuSeconds(mongoServer.pid) - cpu.store) * 10) / 10,
  };
  console.log(values.json ? JSON.stringify(figures) : figures);
} finally {
  if (service && service.exitCode === null) {
    service.kill('SIGTERM');
    await new Promise((resolve) => service?.once('exit', resolve));
  }
  await mongoServer?.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** One published batch, as the recommend workflow leaves it: the lists, the batch record, the active pointer. */
async function writeBatch(db: Db, count: number): Promise<void> {
  const collection = batchCollection(BATCH);
  const at = new Date();
  for (let from = 0; from < count; from += 5000) {
    const docs: RecommendationDocument[] = [];
    for (let u = from; u < Math.min(count, from + 5000); u += 1) {
      const items: RecommendedItem[] = Array.from(
        { length: 20 },
        (_, i) => ({ track_id: 1 + ((u * 31 + i * 97) % 10_000), score: 20 - i, reason: 'similar', because: [1 + ((u + i) % 10_000)] }) as RecommendedItem,
      );
      docs.push({
        _id: String(u + 1),
        user_id: u + 1,
        batch_id: BATCH,
        model: MODEL,
        computed_in: BATCH,
        cold_start: false,
        count: items.length,
        items: encodeItems(items),
      });
    }
    await db.collection<RecommendationDocument>(collection).insertMany(docs, { ordered: false });
  }
  const batch = {
    _id: BATCH,
    status: 'published',
    collection,
    workflow_id: 'bench-load',
    mode: 'full',
    base_batch_id: null,
    k: 20,
    users: count,
    created_at: at,
    published_at: at,
  };
  await db.collection<BatchDocument>(BATCHES).insertOne(batch as unknown as BatchDocument);
  const state: StateDocument = { _id: ACTIVE_ID, batch_id: BATCH, collection, previous_batch_id: null, switched_at: at, reason: 'bench:load' };
  await db.collection<StateDocument>(STATE).insertOne(state);
}
