import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/config.js';
import { ensureFerretdb, ensureTemporal, onPath } from '../../stack/binaries.js';
import { plan, stackDown, stackStatus, stackUp } from '../../stack/stack.js';
import { table } from '../format.js';
import { UsageError } from '../../config/usageError.js';

export const STACK_USAGE = `Usage: moovitamix stack <up|down|status|build> [options]

The development stack, on this machine, without Docker:
  up       start what is not running: the Temporal dev server (127.0.0.1:7233,
           UI on 127.0.0.1:8233), a MongoDB-protocol server (127.0.0.1:27017:
           mongod if on PATH, else FerretDB), the simulator (127.0.0.1:8000)
           and one worker; servers are built with Go the first time
           simulator options: --seed S --count N --tracks N --users N --listen-history N
           --taste [--taste-clusters N] (data with taste clusters, for recommenders)
  down     stop them (data is kept in MOOVITAMIX_DATA_DIR, default ./.data)
  status   what runs where [--json]
  build    build (or find) the Temporal and FerretDB binaries, start nothing

A component whose variable points elsewhere (TEMPORAL_ADDRESS, MONGODB_URI,
MOOVITAMIX_API_URL not on this machine) is used as it is, not started.`;

const log = (line: string) => console.log(line);

export async function stackCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (!action || action === '--help' || action === '-h' || action === 'help') {
    console.log(STACK_USAGE);
    return action ? 0 : 2;
  }
  const config = loadConfig();
  switch (action) {
    case 'up': {
      const simulatorArgs = stackUpSimulatorArgs(rest);
      log(`Starting the stack (data in ${config.dataDir})`);
      await stackUp(config, { simulatorArgs }, log);
      return 0;
    }
    case 'down':
      noOptions(rest);
      await stackDown(config, log);
      return 0;
    case 'status': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false } }, strict: true });
      const status = await stackStatus(config);
      if (values.json) {
        console.log(JSON.stringify(status, null, 2));
      } else {
        console.log(
          table(
            ['component', 'state', 'pid', 'address', 'details'],
            status.map((s) => [s.component, s.state, s.pid ?? '-', s.address || '-', s.detail]),
          ),
        );
        const logs = status.filter((s) => s.logFile).map((s) => `  ${s.component}: ${s.logFile}`);
        if (logs.length > 0) console.log(`Logs:\n${logs.join('\n')}`);
      }
      return status.every((s) => s.state === 'running' || s.state === 'external') ? 0 : 1;
    }
    case 'build': {
      noOptions(rest);
      const modes = plan(config);
      if (modes.temporal === 'managed') {
        const t = await ensureTemporal(config.cacheDir, log);
        log(`Temporal CLI: ${t.path} (${t.origin})`);
      }
      if (modes.mongodb === 'managed') {
        const mongod = onPath('mongod');
        const m = mongod ? { path: mongod, origin: 'PATH' } : await ensureFerretdb(config.cacheDir, log);
        log(`MongoDB server: ${m.path} (${m.origin})`);
      }
      return 0;
    }
    default:
      throw new UsageError(`unknown stack action "${action}"\n\n${STACK_USAGE}`);
  }
}

/** The simulator options of `stack up`, passed on as they came (the simulator validates them); a flag (--taste) has no value. */
export function stackUpSimulatorArgs(argv: string[]): string[] {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: 'string' },
      count: { type: 'string' },
      tracks: { type: 'string' },
      users: { type: 'string' },
      'listen-history': { type: 'string' },
      taste: { type: 'boolean' },
      'taste-clusters': { type: 'string' },
    },
    strict: true,
  });
  return Object.entries(values).flatMap(([k, v]) => (v === undefined || v === false ? [] : v === true ? [`--${k}`] : [`--${k}`, v]));
}

function noOptions(rest: string[]): void {
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
}
