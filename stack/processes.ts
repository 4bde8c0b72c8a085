import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';

export interface StartOptions {
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Survive the parent (the dev stack); tests keep children attached and stop them. */
  detached: boolean;
}

/** Starts a server process whose stdout and stderr append to its log file. */
export function startProcess(options: StartOptions): ChildProcess {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  writeSync(fd, `\n=== ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`);
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', fd, fd],
      detached: options.detached,
    });
    if (options.detached) child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a process runs. A zombie (exited, not yet reaped) does not: an orphaned
 * server is reparented to pid 1, and some container inits never reap, so
 * kill(pid, 0) alone would report it alive for ever.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): kill(pid, 0) is all we have
  }
}

/**
 * When a process started, as an opaque string: with the pid, it names one process
 * for good, so a stranger that reused the pid of a server we started is never taken
 * for it. Linux: field 22 of /proc/<pid>/stat (clock ticks since boot); elsewhere
 * `ps -o lstart=`. Undefined if the process does not exist.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)" start with field 3 (state); field 22 is the 20th of them.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    if (existsSync('/proc/self/stat')) return undefined; // Linux, and no such process
  }
  const ps = spawnSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8' });
  const started = ps.status === 0 ? ps.stdout?.trim() : '';
  return started || undefined;
}

/** SIGTERM, then SIGKILL if the process has not exited within graceMs. */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<'stopped' | 'killed' | 'not running'> {
  if (!isAlive(pid)) return 'not running';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'not running';
  }
  const stopped = await waitUntil(async () => !isAlive(pid), graceMs, 50);
  if (stopped) return 'stopped';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'stopped';
  }
  await waitUntil(async () => !isAlive(pid), 5_000, 50);
  return 'killed';
}

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `ready` until it returns true; false after timeoutMs. */
export async function waitUntil(ready: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The last lines of a log file, to show why a server did not start. */
export function logTail(logFile: string, lines = 12): string {
  if (!existsSync(logFile)) return '(no log)';
  return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}
