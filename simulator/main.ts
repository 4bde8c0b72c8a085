import { parseArgs } from 'node:util';
import { UsageError } from '../config/usageError.js';
import { parseFaultRule } from './faults.js';
import { parseMutation } from './knobs.js';
import { createSimulator, type SimulatorOptions } from './server.js';

export const SIMULATOR_USAGE = `Usage: moovitamix simulator [options]

Serves the Moovitamix API contract (GET /tracks, /users, /listen_history) from a
generated dataset. Every start generates a new dataset unless --seed is given.

Options:
  --host H              address to bind (default 127.0.0.1)
  --port P              port (default 8000; 0 picks a free one)
  --seed S              reproduce a dataset exactly
  --count N             records per endpoint (default 1000)
  --tracks N            tracks (default --count)
  --users N             users (default --count)
  --listen-history N    listen-history rows, one per user (default: the number of users)
  --taste               taste mode: users in taste clusters over genres and artists,
                        power-law popularity, histories that follow each user's taste
                        (a recommender has something to find); off: uniformly random
  --taste-clusters N    taste clusters with --taste (default 8 for 1,000 tracks, up to 20)

A bad day, on purpose (see docs/development.md, "The simulator"):
  --fault RULE              inject failures into the list endpoints; repeatable. RULE is
                            kind=status|html|truncated|bad-envelope|reset|delay with optional
                            path=/tracks, page=N, times=N, status=N, retry-after=S, delay-ms=N,
                            e.g. --fault kind=status,status=429,retry-after=2,path=/users,times=3
  --fault-rate R            fail this share (0..1) of list requests at random with a transient
                            fault: 429 with or without Retry-After, 500, 503, reset, truncated
                            JSON, an HTML error page
  --fault-seed S            reproduce the random faults
  --fault-timeout-ms N      also draw timeouts: answers delayed N ms
  --latency-ms N            delay every list answer
  --invalid-rate R          serve this share (0..1) of records invalid (null or missing id, ...)
  --extra-field-rate R      serve this share of records with an unknown extra field
  --unexpected-value-rate R serve this share of users with a gender or favourite genre outside the contract
  --orphan-rate R           serve this share of listen-history rows pointing at a missing user or track
  --empty-rate R            serve this share of records with a value left empty ("" or [])
  --age-days N              serve every updated_at N days earlier (a stale snapshot)
  --duplicate-ids N         per endpoint, N records repeat the id of a record on an earlier page
  --grow-after-requests N   after N requests to an endpoint, append --grow-by records to it
  --grow-by N                 (so that \`total\` changes mid-run)
  --mutate SPEC             change the snapshot at start: updated=5,deleted=2,added=3 (percent)
  POST /__simulator/mutate?updated=5&deleted=2&added=3 changes it while it runs;
  GET /__simulator/stats reports totals and requests per page.
`;

function wholeNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${name} must be a whole number >= 0, got "${text}"`);
  }
  return Number(text);
}

function fraction(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${name} must be a fraction 0..1, got "${text}"`);
  return n;
}

function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function parseSimulatorArgs(argv: string[]): { host: string; port: number; options: SimulatorOptions } {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8000' },
      seed: { type: 'string' },
      count: { type: 'string' },
      tracks: { type: 'string' },
      users: { type: 'string' },
      'listen-history': { type: 'string' },
      taste: { type: 'boolean', default: false },
      'taste-clusters': { type: 'string' },
      fault: { type: 'string', multiple: true },
      'fault-rate': { type: 'string' },
      'fault-seed': { type: 'string' },
      'fault-timeout-ms': { type: 'string' },
      'latency-ms': { type: 'string' },
      'invalid-rate': { type: 'string' },
      'extra-field-rate': { type: 'string' },
      'duplicate-ids': { type: 'string' },
      'unexpected-value-rate': { type: 'string' },
      'orphan-rate': { type: 'string' },
      'empty-rate': { type: 'string' },
      'age-days': { type: 'string' },
      'grow-after-requests': { type: 'string' },
      'grow-by': { type: 'string' },
      mutate: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = wholeNumber('port', values.port) ?? 8000;
  if (port > 65535) throw new UsageError(`--port must be 0-65535, got ${port}`);
  const count = wholeNumber('count', values.count);
  const tasteClusters = wholeNumber('taste-clusters', values['taste-clusters']);
  if (tasteClusters !== undefined && !values.taste) throw new UsageError('--taste-clusters needs --taste');
  return {
    host: values.host ?? '127.0.0.1',
    port,
    options: {
      seed: values.seed,
      tracks: wholeNumber('tracks', values.tracks) ?? count,
      users: wholeNumber('users', values.users) ?? count,
      listenHistory: wholeNumber('listen-history', values['listen-history']),
      ...(values.taste ? { taste: true, tasteClusters } : {}),
      faults: (values.fault ?? []).map((rule) => usage(() => parseFaultRule(rule))),
      randomFaults:
        values['fault-rate'] === undefined
          ? undefined
          : {
              rate: fraction('fault-rate', values['fault-rate']) ?? 0,
              seed: values['fault-seed'],
              timeoutMs: wholeNumber('fault-timeout-ms', values['fault-timeout-ms']),
            },
      latencyMs: wholeNumber('latency-ms', values['latency-ms']),
      invalidRate: fraction('invalid-rate', values['invalid-rate']),
      extraFieldRate: fraction('extra-field-rate', values['extra-field-rate']),
      duplicateIds: wholeNumber('duplicate-ids', values['duplicate-ids']),
      unexpectedValueRate: fraction('unexpected-value-rate', values['unexpected-value-rate']),
      orphanRate: fraction('orphan-rate', values['orphan-rate']),
      emptyRate: fraction('empty-rate', values['empty-rate']),
      ageDays: wholeNumber('age-days', values['age-days']),
      growAfterRequests: wholeNumber('grow-after-requests', values['grow-after-requests']),
      growBy: wholeNumber('grow-by', values['grow-by']),
      mutation: values.mutate === undefined ? undefined : usage(() => parseMutation(values.mutate as string)),
    },
  };
}

/** Runs the simulator in the foreground until SIGINT or SIGTERM. */
export async function runSimulator(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SIMULATOR_USAGE);
    return;
  }
  const { host, port, options } = parseSimulatorArgs(argv);
  const started = performance.now();
  let simulator;
  try {
    simulator = createSimulator(options);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
  const { seed, tracks, users, listenHistory } = simulator.dataset.options;
  const taste = simulator.dataset.taste;
  const url = await simulator.listen(port, host);
  const ms = Math.round(performance.now() - started);
  console.log(
    `Moovitamix simulator listening on ${url} (seed=${JSON.stringify(seed)}, tracks=${tracks}, users=${users}, listen_history=${listenHistory}${taste ? `, taste: ${taste.clusters} clusters, ${taste.artists} artists` : ''}, generated in ${ms} ms)`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await simulator.close();
}
