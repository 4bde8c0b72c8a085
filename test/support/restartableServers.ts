import { join } from 'node:path';
import { loadConfig } from '../../config/config.js';
import { ensureFerretdb, ensureTemporal } from '../../stack/binaries.js';
import { freePort } from '../../stack/ports.js';
import { startMongo, startTemporal, type ServerHandle } from '../../stack/servers.js';

/**
 * A server a fault test owns, on a fixed port and fixed files, so it can be stopped
 * mid-run and started again where clients expect it, on the same data.
 */
export interface RestartableServer {
  /** What clients connect to: a MongoDB URI or Temporal's host:port. */
  address: string;
  /** Stops it (SIGTERM, then SIGKILL after 10 s); resolves once the process is gone. */
  stop(): Promise<void>;
  /** Starts it again on the same port and files; resolves once it serves. */
  start(): Promise<void>;
}

const progress = (line: string) => process.stderr.write(`    [chaos] ${line}\n`);

async function restartable(launch: () => Promise<ServerHandle>): Promise<RestartableServer> {
  let handle: ServerHandle | undefined = await launch();
  const address = handle.address;
  return {
    address,
    stop: async () => {
      await handle?.stop();
      handle = undefined;
    },
    start: async () => {
      if (handle) throw new Error(`${handle.name} already runs`);
      handle = await launch();
    },
  };
}

/** FerretDB on SQLite files under `dir` (synchronous=normal: what it wrote survives a restart). */
export async function startRestartableFerretdb(dir: string): Promise<RestartableServer> {
  const binary = (await ensureFerretdb(loadConfig({ ...process.env, MONGODB_URI: undefined }).cacheDir, progress)).path;
  const port = await freePort();
  return restartable(() =>
    startMongo({
      binary,
      kind: 'ferretdb',
      host: '127.0.0.1',
      port,
      dataDir: join(dir, 'ferretdb'),
      logFile: join(dir, 'ferretdb.log'),
      detached: false,
      sqliteSynchronous: 'normal',
    }),
  );
}

/** A Temporal dev server keeping its state in `dir`/temporal.db, as the dev stack does. */
export async function startRestartableTemporal(dir: string): Promise<RestartableServer> {
  const binary = (await ensureTemporal(loadConfig({ ...process.env, MONGODB_URI: undefined }).cacheDir, progress)).path;
  const port = await freePort();
  return restartable(() =>
    startTemporal({
      binary,
      host: '127.0.0.1',
      port,
      uiPort: null,
      dbFile: join(dir, 'temporal.db'),
      namespace: 'default',
      logFile: join(dir, 'temporal.log'),
      detached: false,
    }),
  );
}
