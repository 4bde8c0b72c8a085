import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { isLoopback, splitHostPort, temporalUiUrl } from '../config/addresses.js';
import { localMongoUri, type Config } from '../config/config.js';
import { projectRoot } from '../config/paths.js';
import { redactUri } from '../config/redact.js';
import { FERRETDB_VERSION, ensureFerretdb, ensureTemporal, onPath, type Log } from './binaries.js';
import { isAlive, portOpen, processStartTime, stopProcess } from './processes.js';
import { launch, mongoReady, startMongo, startTemporal, temporalReady } from './servers.js';
import { registerSearchAttributes } from './searchAttributes.js';
import { connectOptions } from '../config/temporalConnection.js';
import { answersMoovitamixContract } from './upstreamApi.js';

export const COMPONENTS = ['temporal', 'mongodb', 'simulator', 'worker'] as const;
export type Component = (typeof COMPONENTS)[number];

interface RunningComponent {
  pid: number;
  /** When the process started: tells our process from another that reused its pid. */
  startTime: string;
  address: string;
  detail: string;
  logFile: string;
  startedAt: string;
}

interface StackState {
  components: Partial<Record<Component, RunningComponent>>;
}

export interface StackUpOptions {
  /** Passed to the simulator: reproduce a dataset, or serve more records. */
  simulatorArgs?: string[];
}

const stateFile = (config: Config) => join(config.dataDir, 'stack.json');
const logFile = (config: Config, component: Component) => join(config.dataDir, 'logs', `${component}.log`);
const bin = join(projectRoot, 'bin', 'moovitamix.js');

function readState(config: Config): StackState {
  try {
    return JSON.parse(readFileSync(stateFile(config), 'utf8')) as StackState;
  } catch {
    return { components: {} };
  }
}

function writeState(config: Config, state: StackState): void {
  writeFileSync(stateFile(config), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Our process, still running (not a stranger that reused the pid). */
function running(entry: RunningComponent | undefined): entry is RunningComponent {
  return !!entry && isAlive(entry.pid) && entry.startTime !== undefined && processStartTime(entry.pid) === entry.startTime;
}

/** The state entry of a server just started. */
function entryFor(pid: number, fields: Omit<RunningComponent, 'pid' | 'startTime' | 'startedAt'>): RunningComponent {
  return { pid, startTime: processStartTime(pid) ?? '', startedAt: new Date().toISOString(), ...fields };
}

/** Which components this machine runs, and which are servers the configuration points elsewhere. */
export function plan(config: Config): Record<Component, 'managed' | 'external'> {
  const temporalHost = splitHostPort(config.temporalAddress).host;
  const api = new URL(config.apiUrl);
  return {
    temporal: isLoopback(temporalHost) ? 'managed' : 'external',
    mongodb: config.mongodbUriFromEnv ? 'external' : 'managed',
    simulator: api.protocol === 'http:' && isLoopback(api.hostname) ? 'managed' : 'external',
    worker: 'managed',
  };
}

/**
 * The plan, with the simulator left out where the Moovitamix API (the real one, or a
 * simulator this stack did not start) already answers at MOOVITAMIX_API_URL: the stack
 * uses it rather than stopping because its port is taken.
 */
async function planOnThisMachine(config: Config, state: StackState): Promise<{ modes: Record<Component, 'managed' | 'external'>; apiAlreadyServing: boolean }> {
  const modes = plan(config);
  const apiAlreadyServing = modes.simulator === 'managed' && !running(state.components.simulator) && (await answersMoovitamixContract(config.apiUrl));
  if (apiAlreadyServing) modes.simulator = 'external';
  return { modes, apiAlreadyServing };
}

/** Checks, before starting anything, that every port the stack is about to bind is free. */
async function ensurePortsFree(config: Config, state: StackState, modes: Record<Component, 'managed' | 'external'>): Promise<void> {
  const wanted: { component: Component; host: string; port: number; hint: string }[] = [];
  const toStart = (c: Component) => modes[c] === 'managed' && !running(state.components[c]);
  if (toStart('temporal')) {
    const { host, port } = splitHostPort(config.temporalAddress);
    wanted.push({ component: 'temporal', host, port, hint: 'set TEMPORAL_ADDRESS to another port' });
    wanted.push({ component: 'temporal', host, port: port + 1000, hint: 'free the UI port (TEMPORAL_ADDRESS port + 1000)' });
  }
  if (toStart('mongodb')) {
    wanted.push({
      component: 'mongodb',
      host: '127.0.0.1',
      port: config.mongodbPort,
      hint: 'set MONGODB_URI to the server you run there, or MOOVITAMIX_MONGODB_PORT to another port',
    });
  }
  if (toStart('simulator')) {
    const api = new URL(config.apiUrl);
    wanted.push({
      component: 'simulator',
      host: api.hostname,
      port: Number(api.port || 80),
      hint: 'set MOOVITAMIX_API_URL to another port (a server there that answers the Moovitamix contract, GET /tracks?page=1&size=1 and the others, would be used as it is; this one does not)',
    });
  }
  // The worker's metrics port is not among them: a worker that finds it taken serves on the next free one.
  for (const { component, host, port, hint } of wanted) {
    if (await portOpen(host, port)) {
      throw new Error(
        `Cannot start ${component}: ${host}:${port} is already in use by a process this stack did not start. Stop it, or ${hint}. Nothing was started.`,
      );
    }
  }
}

/** Starts every managed component that is not running yet; returns when all serve. */
export async function stackUp(config: Config, options: StackUpOptions, log: Log): Promise<void> {
  const started = Date.now();
  mkdirSync(join(config.dataDir, 'logs'), { recursive: true, mode: 0o700 });
  const state = readState(config);
  const { modes, apiAlreadyServing } = await planOnThisMachine(config, state);
  const save = (component: Component, entry: RunningComponent) => {
    state.components[component] = entry;
    writeState(config, state);
  };
  await ensurePortsFree(config, state, modes);
  const already = (component: Component): boolean => {
    const entry = state.components[component];
    if (!running(entry)) return false;
    log(`  ${component.padEnd(9)} already running (pid ${entry.pid}, ${entry.address})`);
    return true;
  };

  if (modes.temporal === 'managed' && !already('temporal')) {
    const { host, port } = splitHostPort(config.temporalAddress);
    const uiPort = port + 1000;
    const binary = await ensureTemporal(config.cacheDir, log);
    mkdirSync(join(config.dataDir, 'temporal'), { recursive: true, mode: 0o700 });
    const server = await startTemporal({
      binary: binary.path,
      host,
      port,
      uiPort,
      dbFile: join(config.dataDir, 'temporal', 'temporal.db'),
      namespace: config.temporalNamespace,
      logFile: logFile(config, 'temporal'),
      detached: true,
    });
    save(
      'temporal',
      entryFor(server.pid, {
        address: config.temporalAddress,
        detail: `UI ${temporalUiUrl(config)}; ${binary.path} (${binary.origin})`,
        logFile: server.logFile,
      }),
    );
    log(`  temporal  started (pid ${server.pid}, ${config.temporalAddress}, UI ${temporalUiUrl(config)})`);
  } else if (modes.temporal === 'external') {
    log(`  temporal  external: ${config.temporalAddress}`);
  }
  if (modes.temporal === 'managed') {
    // The server's --search-attribute flags register them only in a new database: one kept
    // from an earlier start (or an earlier version of the stack) gets what it lacks here.
    const connection = await Connection.connect({ address: config.temporalAddress, connectTimeout: 5_000 });
    try {
      const { added } = await registerSearchAttributes(connection.operatorService, config.temporalNamespace);
      if (added.length > 0) log(`  temporal  search attributes registered: ${added.join(', ')}`);
    } finally {
      await connection.close();
    }
  }

  if (modes.mongodb === 'managed' && !already('mongodb')) {
    const { host, port } = { host: '127.0.0.1', port: config.mongodbPort };
    const mongod = onPath('mongod');
    const binary = mongod ? { path: mongod, origin: 'PATH' } : await ensureFerretdb(config.cacheDir, log);
    const kind = mongod ? 'mongod' : 'ferretdb';
    const dataDir = join(config.dataDir, kind);
    const server = await startMongo({ binary: binary.path, kind, host, port, dataDir, logFile: logFile(config, 'mongodb'), detached: true });
    save(
      'mongodb',
      entryFor(server.pid, {
        address: localMongoUri(port),
        detail: mongod ? `mongod from PATH; data ${dataDir}` : `FerretDB ${FERRETDB_VERSION} on SQLite; data ${dataDir}`,
        logFile: server.logFile,
      }),
    );
    log(`  mongodb   started (pid ${server.pid}, ${kind}, ${localMongoUri(port)})`);
  } else if (modes.mongodb === 'external') {
    log(`  mongodb   external: ${redactUri(config.mongodbUri)}`);
  }

  if (modes.simulator === 'managed' && !already('simulator')) {
    const api = new URL(config.apiUrl);
    const port = Number(api.port || 80);
    const server = await launch({
      name: 'Moovitamix simulator',
      command: process.execPath,
      args: [bin, 'simulator', '--host', api.hostname, '--port', String(port), ...(options.simulatorArgs ?? [])],
      logFile: logFile(config, 'simulator'),
      detached: true,
      address: config.apiUrl,
      ready: async () => (await fetch(`${config.apiUrl}/openapi.json`)).ok,
      readyTimeoutMs: 120_000,
    });
    save(
      'simulator',
      entryFor(server.pid, {
        address: config.apiUrl,
        detail: options.simulatorArgs?.length ? `args ${options.simulatorArgs.join(' ')}` : 'default dataset (new on every start)',
        logFile: server.logFile,
      }),
    );
    log(`  simulator started (pid ${server.pid}, ${config.apiUrl})`);
  } else if (apiAlreadyServing) {
    log(`  simulator not started: the Moovitamix API already answers at ${config.apiUrl} (external, not managed by this stack)`);
  } else if (modes.simulator === 'external') {
    log(`  simulator not started: MOOVITAMIX_API_URL is ${config.apiUrl}`);
  }

  // A worker started before the code was last built would run old code: restart it.
  const worker = state.components.worker;
  if (running(worker) && builtAfter(new Date(worker.startedAt))) {
    log(`  worker    code rebuilt since it started: restarting it`);
    await stopProcess(worker.pid);
  }
  if (!already('worker')) {
    const identityOf = (pid: number) => `${pid}@${hostname()}`;
    const server = await launch({
      name: 'worker',
      command: process.execPath,
      // A heap limit makes V8 collect before it grows: the worker's memory stays flat.
      args: [`--max-old-space-size=${config.workerHeapMb}`, bin, 'worker'],
      logFile: logFile(config, 'worker'),
      detached: true,
      address: `task queue ${config.taskQueue}`,
      ready: (pid) => workerPolling(config, identityOf(pid)),
      readyTimeoutMs: 60_000,
    });
    save(
      'worker',
      entryFor(server.pid, {
        address: `task queue ${config.taskQueue}`,
        detail: `identity ${identityOf(server.pid)}, heap limit ${config.workerHeapMb} MB, ${workerMetrics(server.logFile)}`,
        logFile: server.logFile,
      }),
    );
    log(`  worker    started (pid ${server.pid}, task queue ${config.taskQueue})`);
  }
  log(`Stack up in ${((Date.now() - started) / 1000).toFixed(1)} s. Temporal UI: ${temporalUiUrl(config) ?? '(external server)'}`);
}

/** Where the worker serves its metrics, as its first line says (it picks another port when the configured one is taken). */
function workerMetrics(log: string): string {
  const lines = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Worker polling'));
  return /; (metrics [^;]*)$/.exec(lines.at(-1) ?? '')?.[1] ?? 'metrics: see the worker log';
}

function builtAfter(time: Date): boolean {
  const bundle = join(projectRoot, 'dist', 'workflow-bundle.js');
  return existsSync(bundle) && statSync(bundle).mtime > time;
}

/** Whether a worker with this identity polls the task queue for workflow tasks. */
async function workerPolling(config: Config, identity: string): Promise<boolean> {
  const connection = await Connection.connect({ ...connectOptions(config.temporalAddress, config.temporal), connectTimeout: 1_000 });
  try {
    const client = new Client({ connection, namespace: config.temporalNamespace });
    const response = await client.workflowService.describeTaskQueue({
      namespace: config.temporalNamespace,
      taskQueue: { name: config.taskQueue },
    });
    return (response.pollers ?? []).some((p) => p.identity === identity);
  } finally {
    await connection.close();
  }
}

/** Stops the components this stack started, worker first. */
export async function stackDown(config: Config, log: Log): Promise<void> {
  const state = readState(config);
  for (const component of [...COMPONENTS].reverse()) {
    const entry = state.components[component];
    if (!entry) continue;
    if (running(entry)) {
      const how = await stopProcess(entry.pid);
      log(`  ${component.padEnd(9)} ${how} (pid ${entry.pid})`);
    } else {
      log(`  ${component.padEnd(9)} was not running`);
    }
    delete state.components[component];
    if (existsSync(config.dataDir)) writeState(config, state);
  }
  log('Stack down. Data kept in ' + config.dataDir);
}

export interface ComponentStatus {
  component: Component;
  state: 'running' | 'stopped' | 'external' | 'unreachable';
  pid: number | null;
  address: string;
  detail: string;
  logFile: string | null;
}

/** What runs where: managed processes by pid, external servers by whether they answer. */
export async function stackStatus(config: Config): Promise<ComponentStatus[]> {
  const state = readState(config);
  const { modes, apiAlreadyServing } = await planOnThisMachine(config, state);
  const out: ComponentStatus[] = [];
  for (const component of COMPONENTS) {
    const entry = state.components[component];
    if (modes[component] === 'external') {
      const reachable = apiAlreadyServing && component === 'simulator' ? true : await externalReachable(config, component);
      out.push({
        component,
        state: reachable ? 'external' : 'unreachable',
        pid: null,
        address: component === 'mongodb' ? redactUri(config.mongodbUri) : component === 'temporal' ? config.temporalAddress : config.apiUrl,
        detail:
          component === 'simulator'
            ? `the Moovitamix API${apiAlreadyServing ? ' on this machine' : ''}, not managed by this stack`
            : 'not managed by this stack',
        logFile: null,
      });
    } else if (running(entry)) {
      out.push({ component, state: 'running', pid: entry.pid, address: entry.address, detail: entry.detail, logFile: entry.logFile });
    } else {
      out.push({ component, state: 'stopped', pid: null, address: '', detail: '', logFile: state.components[component]?.logFile ?? null });
    }
  }
  return out;
}

async function externalReachable(config: Config, component: Component): Promise<boolean> {
  try {
    if (component === 'temporal') return await temporalReady(config.temporalAddress, config.temporalNamespace, config.temporal);
    if (component === 'mongodb') return await mongoReady(config.mongodbUri);
    if (component === 'simulator') return await answersMoovitamixContract(config.apiUrl);
  } catch {
    return false;
  }
  return false;
}
