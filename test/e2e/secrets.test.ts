import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { projectRoot } from '../../config/paths.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { runCli, type CliResult } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

// Secrets never leak: a password in MONGODB_URI and a token in ALERT_WEBHOOK_URL are used
// for real (a worker process runs the daily pipeline, an alert is delivered), then every
// place a secret could end up is searched: the worker's and the CLI's output and errors,
// what Temporal keeps (inputs, memos, search attributes, results, whole histories), every
// stored document and the files under the data directory.

const PASSWORD = 'Pw9f3kq7zXcVsecret';
const TOKEN = 'tok4Rz8mQ2wLxhook';
const DATE = '2025-01-03';

/** Every form a secret could be written in: as is, URL-encoded, base64. */
const forms = (secret: string) => [...new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64').slice(0, 16)])];
const SECRETS = [...forms(PASSWORD), ...forms(TOKEN)];

function leaks(where: string, text: string): string[] {
  return SECRETS.filter((s) => text.includes(s)).map((s) => `${where}: contains ${s === PASSWORD || s === TOKEN ? s : `an encoding of a secret (${s})`}`);
}

/** Payload bytes as text, so a JSON or base64 payload is searched as it is stored. */
const asText = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'bigint' ? String(v) : v));

function filesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('secrets stay secret (worker, CLI, Temporal, the database)', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let sim: Simulator;
  let hook: WebhookReceiver;
  let worker: ChildProcess | undefined;

  before(async () => {
    stack = await getTestStack();
    // Orphan listens make a check fail: an alert, delivered to the webhook (refused once, then accepted).
    sim = createSimulator({ seed: 'secrets', tracks: 200, users: 200, orphanRate: 0.2 });
    hook = await startWebhookReceiver(`/hooks/T01/B02/${TOKEN}`, [500]);
  });
  after(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker?.once('exit', resolve));
    }
    await sim?.close();
    await hook?.close();
  });

  it('appear nowhere: logs, CLI output and errors, workflow inputs, memos, results, histories, documents, files', async () => {
    const dbName = `${stack.mongodbDb}_secrets`;
    const taskQueue = `secrets-${process.pid}`;
    // FerretDB on SQLite takes any user and password (PLAIN); MongoDB with auth would check them.
    const uri = `${stack.mongodbUri.replace('mongodb://', `mongodb://moovi:${PASSWORD}@`)}${stack.mongodbUri.includes('?') ? '&' : '?'}authMechanism=PLAIN`;
    const env = stack.env({
      MONGODB_URI: uri,
      MONGODB_DB: dbName,
      TEMPORAL_TASK_QUEUE: taskQueue,
      ALERT_WEBHOOK_URL: hook.url,
      MOOVITAMIX_API_URL: await sim.listen(0),
      MOOVITAMIX_HTTP_BACKOFF_MS: '20',
    });
    const found: string[] = [];
    // The search finds a secret where there is one.
    expect(leaks('the URI itself', uri)).to.have.length(1);
    expect(leaks('the webhook URL itself', hook.url)).to.have.length(1);

    // A worker in its own process, as deployed.
    let workerOut = '';
    worker = spawn(process.execPath, [join(projectRoot, 'bin', 'moovitamix.js'), 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const polling = new Promise<void>((resolve, reject) => {
      worker?.stdout?.on('data', (d: Buffer) => {
        workerOut += d;
        if (workerOut.includes('Worker polling')) resolve();
      });
      worker?.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${workerOut}`)));
    });
    worker.stderr?.on('data', (d: Buffer) => (workerOut += d));
    await polling;

    const cli: Record<string, CliResult> = {};
    const run = async (name: string, args: string[], extra: Record<string, string> = {}) => {
      cli[name] = await runCli(args, { ...env, ...extra });
      return cli[name] as CliResult;
    };
    const daily = await run('run', ['run', '--date', DATE, '--wait', '--json']);
    expect(daily.stdout, daily.stderr).to.include(`daily-${DATE}`);
    expect(hook.received[0]?.status, 'the webhook refused once').to.equal(500);
    expect(
      hook.received.filter((r) => r.status === 200 && r.body.text.includes('orphan_users')),
      'then the alerts were delivered',
    ).to.have.length.greaterThan(0);

    for (const [name, args] of [
      ['status', ['status']],
      ['status run', ['status', `daily-${DATE}`, '--json']],
      ['report', ['report', '--run', `daily-${DATE}`, '--all']],
      ['report json', ['report', '--json']],
      ['alerts', ['alerts', '--all', '--json']],
      ['recommend status', ['recommend', 'status']],
      ['models', ['models', 'list']],
      ['bad date', ['run', '--date', '2025-02-30']],
      ['rollback', ['recommend', 'rollback']],
    ] as const) {
      await run(name, [...args]);
    }
    expect(cli.alerts?.stdout).to.include('orphan_users');
    expect(cli['bad date']?.code, 'an invalid date is refused').to.not.equal(0);
    // Failures that must name the database without its password: nothing listens on port 1.
    const unreachable = { MONGODB_URI: `mongodb://moovi:${PASSWORD}@127.0.0.1:1/?serverSelectionTimeoutMS=1000&authMechanism=PLAIN` };
    const down = await run('database down', ['alerts'], unreachable);
    expect(down.code, down.stdout).to.not.equal(0);
    expect(down.stderr).to.include('127.0.0.1:1');
    await run('database down, status', ['status', '--json'], unreachable);
    // A malformed webhook URL with a token in it is refused without being shown.
    const badHook = await run('bad webhook', ['status'], { ALERT_WEBHOOK_URL: `ftp://hooks.example/${TOKEN}` });
    expect(badHook.code).to.not.equal(0);
    expect(badHook.stderr).to.include('ALERT_WEBHOOK_URL');

    for (const [name, r] of Object.entries(cli)) found.push(...leaks(`moovitamix ${name} stdout`, r.stdout), ...leaks(`moovitamix ${name} stderr`, r.stderr));

    // What Temporal keeps of every workflow the worker ran.
    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const client = new Client({ connection });
      let workflows = 0;
      for await (const info of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) {
        const handle = client.workflow.getHandle(info.workflowId, info.runId);
        const described = await handle.describe();
        const history = await handle.fetchHistory();
        found.push(
          ...leaks(
            `${info.workflowId}: description (memo, search attributes)`,
            asText({ memo: described.memo, attrs: described.searchAttributes, raw: described.raw }),
          ),
        );
        found.push(...leaks(`${info.workflowId}: history (inputs, results, failures)`, asText(history)));
        workflows += 1;
      }
      expect(workflows, 'the daily pipeline and its children').to.be.greaterThan(1);
    } finally {
      await connection.close();
    }

    // Every stored document.
    const db = (await stack.mongo()).db(dbName);
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    expect(names).to.include('alerts');
    for (const name of names) found.push(...leaks(`collection ${name}`, asText(await db.collection(name).find().toArray())));

    worker.kill('SIGTERM');
    await new Promise((resolve) => worker?.once('exit', resolve));
    found.push(...leaks('worker stdout/stderr', workerOut));
    for (const file of filesUnder(join(stack.dir, 'data'))) found.push(...leaks(`file ${file}`, readFileSync(file).toString('latin1')));

    expect(found).to.deep.equal([]);
  });
});
