import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { RawDocument } from '../../stores/raw.js';
import type { PipelineRunDocument } from '../../contracts/runs.js';
import { projectRoot } from '../../config/paths.js';
import type { Simulator } from '../../simulator/server.js';
import { SOURCES } from '../../sources/index.js';
import type { DailyPipelineResult } from '../../contracts/workflows.js';
import { SOURCE_NAMES } from '../../contracts/names.js';

// Helpers of the fault tests (test/e2e/chaos*.test.ts): worker processes, polling, and
// the exact-count assertions every scenario ends with.

/** A `moovitamix worker` child process, with what it printed so far. */
export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
}

/** Starts `node bin/moovitamix.js worker` with `env` and resolves once it polls its task queue. */
export async function startWorkerProcess(env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [join(projectRoot, 'bin', 'moovitamix.js'), 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d));
  child.stderr?.on('data', (d: Buffer) => (out += d));
  const worker = { child, output: () => out };
  await until(
    () => out.includes('Worker polling'),
    60_000,
    'the worker polls',
    () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker exited (${child.exitCode ?? child.signalCode}): ${out}`);
    },
  );
  return worker;
}

/** SIGTERMs a worker (it drains and closes) and waits until it is gone. */
export async function stopWorker(worker: WorkerProcess | undefined): Promise<void> {
  if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = once(worker.child, 'exit');
  worker.child.kill('SIGTERM');
  await exited;
}

/** SIGKILLs a worker (no graceful shutdown) and waits until it is gone. */
export async function killWorker(worker: WorkerProcess): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = once(worker.child, 'exit');
  worker.child.kill('SIGKILL');
  await exited;
}

/** Polls `condition` every 50 ms until it holds; fails after timeoutMs naming what it waited for. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string, check?: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check?.();
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** List requests the simulator has answered (every endpoint, every page). */
export function requestsServed(sim: Simulator): number {
  return [...sim.requestCounts().values()].reduce((a, b) => a + b, 0);
}

/** Curated listens: one per item of every listen_history record served. */
export function servedListens(sim: Simulator): number {
  return sim.served('listen_history').reduce((n, json) => n + (JSON.parse(json) as { items: unknown[] }).items.length, 0);
}

/**
 * What every fault scenario ends with: each source completed with exactly `records`
 * fetched and inserted, nothing duplicated or tombstoned, raw and curated layers
 * holding exactly what the simulator serves, no staging left, one COMPLETED run record
 * with the same figures as the result.
 */
export async function expectExactRun(db: Db, sim: Simulator, result: DailyPipelineResult, records: number): Promise<void> {
  const pages = Math.ceil(records / 100);
  expect(result.status).to.equal('COMPLETED');
  for (const name of SOURCE_NAMES) {
    expect(result.sources[name], name).to.include({
      status: 'COMPLETED',
      fetched: records,
      valid: records,
      invalid: 0,
      inserted: records,
      updated: 0,
      unchanged: 0,
      tombstoned: 0,
      duplicates: 0,
      pages,
      complete: true,
      merged: true,
    });
    const raw = await db.collection<RawDocument>(SOURCES[name].rawCollection).find().toArray();
    expect(raw, `${name}: raw documents`).to.have.length(records);
    expect(new Set(raw.map((d) => d._id)).size, `${name}: no duplicate keys`).to.equal(records);
    expect(
      raw.filter((d) => (d as { deleted_at?: unknown }).deleted_at != null),
      `${name}: nothing tombstoned`,
    ).to.have.length(0);
  }
  expect(await db.collection('tracks').countDocuments()).to.equal(records);
  expect(await db.collection('users').countDocuments()).to.equal(records);
  expect(await db.collection('listens').countDocuments()).to.equal(servedListens(sim));
  expect(await db.collection('quarantine').countDocuments()).to.equal(0);
  expect(await db.collection('staging_pages').countDocuments(), 'staged pages deleted').to.equal(0);

  const runs = await db.collection<PipelineRunDocument>('pipeline_runs').find().toArray();
  expect(runs, 'one run record').to.have.length(1);
  const run = runs[0] as PipelineRunDocument;
  expect(run).to.include({ _id: result.workflowId, run_id: result.runId, status: 'COMPLETED' });
  expect(run.finished_at).to.be.instanceOf(Date);
  for (const name of SOURCE_NAMES) {
    expect(run.sources[name], `${name}: run record`).to.deep.include({
      status: 'COMPLETED',
      fetched: records,
      inserted: records,
      duplicates: 0,
      tombstoned: 0,
      pages,
      complete: true,
    });
  }
}

/** Retries of every reason summed over the sources of a result. */
export function totalRetries(result: DailyPipelineResult): number {
  return SOURCE_NAMES.reduce((n, name) => n + Object.values(result.sources[name]?.retries ?? {}).reduce((a, b) => a + b, 0), 0);
}

/** One activity that completed (or failed for good), as its history records it. */
export interface ActivityRecord {
  /** The worker that ran its last attempt, `<pid>@<host>` by default. */
  identity: string;
  /** Its last attempt: 1 unless Temporal retried it. */
  attempt: number;
}

/** The activities recorded so far by a daily run and its ingest children. */
export async function runActivities(client: Client, workflowId: string): Promise<ActivityRecord[]> {
  const out: ActivityRecord[] = [];
  for (const id of [workflowId, ...SOURCE_NAMES.map((s) => `${workflowId}/${s}`)]) {
    const history = await client.workflow
      .getHandle(id)
      .fetchHistory()
      .catch(() => undefined);
    for (const e of history?.events ?? []) {
      const started = e.activityTaskStartedEventAttributes;
      if (started) out.push({ identity: started.identity ?? '', attempt: started.attempt ?? 1 });
    }
  }
  return out;
}

/** Temporal retries recorded over a run's activities (attempts beyond the first). */
export function activityRetries(records: ActivityRecord[]): number {
  return records.reduce((n, r) => n + r.attempt - 1, 0);
}
