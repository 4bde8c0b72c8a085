import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadConfig, type Config } from '../config/config.js';
import { startThrowawayMongo, startThrowawayTemporal, type ServerHandle } from '../stack/servers.js';

/** The servers a benchmark runs on: a Temporal dev server and FerretDB, as on the dev stack and in CI here. */
export async function startBenchServers(dir: string, log: (line: string) => void): Promise<{ config: Config; temporal: ServerHandle; mongoServer: ServerHandle }> {
  const config = loadConfig({ ...process.env, MONGODB_URI: undefined });
  const temporal = await startThrowawayTemporal(config.cacheDir, dir, log);
  // FerretDB with its default durability.
  const mongoServer = await startThrowawayMongo(config.cacheDir, dir, log, { preferMongod: false, sqliteSynchronous: 'normal' }).catch(async (err: unknown) => {
    await temporal.stop();
    throw err;
  });
  return { config, temporal, mongoServer };
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** VmHWM: the process's peak resident set. */
export function peakRssMb(pid: number | 'self'): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
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
