import { parseArgs } from 'node:util';
import { UsageError } from '../client/usage.js';
import { parseFaultRule } from './faults.js';
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
  --fault RULE          inject failures into the list endpoints; repeatable. RULE is
                        kind=status|html|truncated|bad-envelope|reset|delay with optional
                        path=/tracks, page=N, times=N, status=N, retry-after=S, delay-ms=N,
                        e.g. --fault kind=status,status=429,retry-after=2,path=/users,times=3
`;

function wholeNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`--${name} must be a whole number >= 0, got "${text}"`);
  }
  return Number(text);
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
      fault: { type: 'string', multiple: true },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = wholeNumber('port', values.port) ?? 8000;
  if (port > 65535) throw new UsageError(`--port must be 0-65535, got ${port}`);
  const count = wholeNumber('count', values.count);
  return {
    host: values.host ?? '127.0.0.1',
    port,
    options: {
      seed: values.seed,
      tracks: wholeNumber('tracks', values.tracks) ?? count,
      users: wholeNumber('users', values.users) ?? count,
      listenHistory: wholeNumber('listen-history', values['listen-history']),
      faults: (values.fault ?? []).map((rule) => {
        try {
          return parseFaultRule(rule);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      }),
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
  const url = await simulator.listen(port, host);
  const ms = Math.round(performance.now() - started);
  console.log(
    `Moovitamix simulator listening on ${url} (seed=${JSON.stringify(seed)}, tracks=${tracks}, users=${users}, listen_history=${listenHistory}, generated in ${ms} ms)`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await simulator.close();
}
