import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { loadConfig, type Config } from '../../config/config.js';
import { startThrowawayMongo, startThrowawayTemporal, type ServerHandle } from '../../stack/servers.js';

/**
 * The real servers the integration and end-to-end tests use: a Temporal dev server
 * (in memory, no UI) and a MongoDB-protocol server (MONGODB_URI if set; else mongod
 * from PATH; else FerretDB on throwaway SQLite files). Both are started once, on free
 * ports, the first time a test asks, and stopped when the suite ends, so the suite
 * never touches a developer's running stack.
 */
export interface TestStack {
  temporalAddress: string;
  mongodbUri: string;
  /** A database of its own for this test run. */
  mongodbDb: string;
  dir: string;
  /** The configuration a worker or the CLI would read, pointing at these servers. */
  config(overrides?: Partial<Config>): Config;
  /** Environment variables for a child process (the CLI) pointing at these servers. */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  mongo(): Promise<MongoClient>;
}

let starting: Promise<TestStack> | undefined;
const servers: ServerHandle[] = [];
const clients: MongoClient[] = [];
let scratch: string | undefined;
let externalDb: { uri: string; db: string } | undefined;

const progress = (line: string) => process.stderr.write(`    [test stack] ${line}\n`);

export function getTestStack(): Promise<TestStack> {
  starting ??= start();
  return starting;
}

async function start(): Promise<TestStack> {
  const base = loadConfig({ ...process.env, MONGODB_URI: undefined });
  const dir = mkdtempSync(join(tmpdir(), 'moovitamix-test-'));
  scratch = dir;

  const temporal = await startThrowawayTemporal(base.cacheDir, dir, progress);
  servers.push(temporal);

  const mongodbDb = `moovitamix_test_${process.pid}`;
  let mongodbUri = process.env.MONGODB_URI;
  if (mongodbUri) {
    externalDb = { uri: mongodbUri, db: mongodbDb };
  } else {
    const mongo = await startThrowawayMongo(base.cacheDir, dir, progress, { preferMongod: true, sqliteSynchronous: 'off' });
    servers.push(mongo);
    mongodbUri = mongo.address;
  }
  const uri = mongodbUri;

  const stack: TestStack = {
    temporalAddress: temporal.address,
    mongodbUri: uri,
    mongodbDb,
    dir,
    config: (overrides = {}) => ({
      ...base,
      mongodbUri: uri,
      mongodbUriFromEnv: true,
      mongodbDb,
      temporalAddress: temporal.address,
      dataDir: join(dir, 'data'),
      ...overrides,
    }),
    env: (extra = {}) => ({
      ...process.env,
      MONGODB_URI: uri,
      MONGODB_DB: mongodbDb,
      TEMPORAL_ADDRESS: temporal.address,
      MOOVITAMIX_DATA_DIR: join(dir, 'data'),
      // Workers spawned by tests serve no metrics unless a test asks (port 9464 may be taken).
      MOOVITAMIX_METRICS_PORT: '0',
      ...extra,
    }),
    mongo: async () => {
      const client = await MongoClient.connect(uri);
      clients.push(client);
      return client;
    },
  };
  return stack;
}

/** Stops what the suite started; the root hook calls it once, after every test. */
export async function stopTestStack(): Promise<void> {
  if (!starting) return;
  if (externalDb) {
    const client = await MongoClient.connect(externalDb.uri);
    await client
      .db(externalDb.db)
      .dropDatabase()
      .catch(() => {});
    await client.close();
  }
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await Promise.all(
    servers
      .splice(0)
      .reverse()
      .map((s) => s.stop()),
  );
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  starting = undefined;
}

// A test run that crashes must not leave servers behind.
process.once('exit', () => {
  for (const s of servers) {
    try {
      process.kill(s.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
