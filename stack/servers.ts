import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { localMongoUri } from '../config/config.js';
import { connectOptions, type TemporalConnection } from '../config/temporalConnection.js';
import { SEARCH_ATTRIBUTE_LIST } from '../contracts/searchAttributes.js';
import { typeLabel } from './searchAttributes.js';
import { ensureFerretdb, ensureTemporal, onPath } from './binaries.js';
import { freePort, freePortsBesides } from './ports.js';
import { logTail, startProcess, stopProcess, waitUntil } from './processes.js';

/** A server process this code started. */
export interface ServerHandle {
  name: string;
  pid: number;
  /** host:port, or a URL where that is what clients use. */
  address: string;
  logFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

interface Launch {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  detached: boolean;
  address: string;
  env?: NodeJS.ProcessEnv;
  /** Whether the process serves yet; given its pid. */
  ready: (pid: number) => Promise<boolean>;
  readyTimeoutMs: number;
}

/** Starts a process and waits until it serves; fails fast, with its log, if it exits first. */
export async function launch(spec: Launch): Promise<ServerHandle> {
  const child = startProcess({ command: spec.command, args: spec.args, logFile: spec.logFile, detached: spec.detached, env: spec.env });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let failure: Error | undefined;
  void spawnError.then((e) => (failure = e));
  const ready = await waitUntil(async () => {
    if (failure || child.exitCode !== null || child.signalCode !== null) return true;
    return spec.ready(child.pid as number);
  }, spec.readyTimeoutMs);
  const exited = failure || child.exitCode !== null || child.signalCode !== null;
  if (!ready || exited) {
    if (!exited && child.pid) await stopProcess(child.pid, 2_000);
    const why = failure
      ? `could not start (${failure.message})`
      : exited
        ? `exited (${child.exitCode ?? child.signalCode})`
        : `was not ready after ${spec.readyTimeoutMs / 1000} s`;
    throw new Error(`${spec.name} ${why}. Last lines of ${spec.logFile}:\n${logTail(spec.logFile)}`);
  }
  const pid = child.pid as number;
  return {
    name: spec.name,
    pid,
    address: spec.address,
    logFile: spec.logFile,
    child,
    stop: async () => {
      await stopProcess(pid);
    },
  };
}

/** Whether a Temporal server answers for `namespace`; `security` for a secured external one. */
export async function temporalReady(address: string, namespace: string, security?: TemporalConnection): Promise<boolean> {
  const connection = await Connection.connect({ ...(security ? connectOptions(address, security) : { address }), connectTimeout: 1_000 });
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

export async function mongoReady(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return true;
  } finally {
    await client.close();
  }
}

export interface TemporalOptions {
  binary: string;
  host: string;
  port: number;
  /** A port for the Web UI, or null for none (tests). */
  uiPort: number | null;
  /** Persistent database file; in memory when null. */
  dbFile: string | null;
  namespace: string;
  logFile: string;
  detached: boolean;
}

/** The Temporal CLI's dev server: a real Temporal server (and UI) in one process. */
export async function startTemporal(o: TemporalOptions): Promise<ServerHandle> {
  const address = `${o.host}:${o.port}`;
  // Left to itself, the dev server picks its HTTP API and metrics ports as free at its own
  // start, and can pick the gRPC port we chose but have not bound yet: it then fails with
  // "address already in use". So every port it opens is chosen here, apart from the others.
  const [httpPort, metricsPort] = await freePortsBesides(o.uiPort === null ? [o.port] : [o.port, o.uiPort], 2);
  const args = ['server', 'start-dev', '--ip', o.host, '--port', String(o.port), '--log-level', 'warn'];
  args.push('--http-port', String(httpPort), '--metrics-port', String(metricsPort));
  if (o.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort));
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  // The workflows' search attributes, registered as the server starts (`moovitamix setup` does it on a cluster).
  for (const { name, type } of SEARCH_ATTRIBUTE_LIST) args.push('--search-attribute', `${name}=${typeLabel(type)}`);
  return launch({
    name: 'Temporal dev server',
    command: o.binary,
    args,
    logFile: o.logFile,
    detached: o.detached,
    address,
    ready: () => temporalReady(address, o.namespace),
    readyTimeoutMs: 90_000,
  });
}

export interface MongoOptions {
  binary: string;
  kind: 'ferretdb' | 'mongod';
  host: string;
  port: number;
  /** SQLite directory (FerretDB) or dbpath (mongod). */
  dataDir: string;
  logFile: string;
  detached: boolean;
  /** FerretDB only: `off` trades durability for speed, for throwaway test data. */
  sqliteSynchronous?: 'normal' | 'full' | 'off';
  /** FerretDB only: serve Go's pprof profiles on this address (benchmarks). */
  debugAddr?: string;
}

/** A MongoDB-protocol server: mongod where installed, else our FerretDB build. */
export function startMongo(o: MongoOptions): Promise<ServerHandle> {
  const uri = localMongoUri(o.port, o.host);
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 });
  const args =
    o.kind === 'mongod'
      ? ['--dbpath', o.dataDir, '--bind_ip', o.host, '--port', String(o.port), '--quiet']
      : [
          '-listen-addr',
          `${o.host}:${o.port}`,
          '-sqlite-dir',
          o.dataDir,
          '-sqlite-synchronous',
          o.sqliteSynchronous ?? 'normal',
          ...(o.debugAddr ? ['-debug-addr', o.debugAddr] : []),
        ];
  return launch({
    name: o.kind === 'mongod' ? 'mongod' : 'FerretDB',
    command: o.binary,
    args,
    logFile: o.logFile,
    detached: o.detached,
    address: uri,
    ready: () => mongoReady(uri),
    readyTimeoutMs: 60_000,
  });
}

/**
 * A Temporal dev server for one process's lifetime (tests, benchmarks): in memory, no
 * UI, on a free port, stopped with the process that started it.
 */
export async function startThrowawayTemporal(cacheDir: string, dir: string, log: (line: string) => void): Promise<ServerHandle> {
  return startTemporal({
    binary: (await ensureTemporal(cacheDir, log)).path,
    host: '127.0.0.1',
    port: await freePort(),
    uiPort: null,
    dbFile: null,
    namespace: 'default',
    logFile: join(dir, 'temporal.log'),
    detached: false,
  });
}

/**
 * A MongoDB-protocol server for one process's lifetime: mongod from PATH if asked and
 * present, else FerretDB (`ferretdbBinary`, or the project's own build).
 */
export async function startThrowawayMongo(
  cacheDir: string,
  dir: string,
  log: (line: string) => void,
  options: { preferMongod: boolean; sqliteSynchronous: 'normal' | 'off'; debugAddr?: string; ferretdbBinary?: string },
): Promise<ServerHandle> {
  const mongod = options.preferMongod ? onPath('mongod') : undefined;
  return startMongo({
    binary: mongod ?? options.ferretdbBinary ?? (await ensureFerretdb(cacheDir, log)).path,
    kind: mongod ? 'mongod' : 'ferretdb',
    host: '127.0.0.1',
    port: await freePort(),
    dataDir: join(dir, 'mongo'),
    logFile: join(dir, 'mongo.log'),
    detached: false,
    sqliteSynchronous: options.sqliteSynchronous,
    ...(options.debugAddr ? { debugAddr: options.debugAddr } : {}),
  });
}
