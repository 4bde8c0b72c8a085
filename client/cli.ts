import { ConfigError } from '../config/config.js';
import { packageVersion } from '../config/paths.js';
import { readTracingSettings } from '../config/tracing.js';
import type { Tracing } from '../worker/tracing.js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { UsageError } from '../config/usageError.js';

type Command = (args: string[]) => Promise<number>;

/*
 * Each command's module is loaded when that command runs: the Temporal worker, its client,
 * the MongoDB driver and the OpenTelemetry SDK take about a second to load all together,
 * which every command paid, even `--help` and `models evaluate`, which need none of them.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  ingest: async () => (await import('./commands/run.js')).ingestCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  watch: async () => (await import('./commands/watch.js')).watchCommand,
  runs: async () => (await import('./commands/runs.js')).runsCommand,
  setup: async () => (await import('./commands/setup.js')).setupCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  alerts: async () => (await import('./commands/alerts.js')).alertsCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  recommend: async () => (await import('./commands/recommend.js')).recommendCommand,
  retrain: async () => (await import('./commands/retrain.js')).retrainCommand,
  models: async () => (await import('./commands/models.js')).modelsCommand,
  schedule: async () => (await import('./commands/schedule.js')).scheduleCommand,
  backfill: async () => (await import('./commands/backfill.js')).backfillCommand,
  stack: async () => (await import('./commands/stack.js')).stackCommand,
  worker: async () => workerCommand,
  simulator: async () => {
    const { runSimulator } = await import('../simulator/main.js');
    return async (args) => {
      await runSimulator(args);
      return 0;
    };
  },
};

async function workerCommand(rest: string[]): Promise<number> {
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log('Usage: moovitamix worker\n\nRuns one worker for TEMPORAL_TASK_QUEUE in the foreground until SIGINT or SIGTERM.');
    return 0;
  }
  if (rest.length > 0) throw new UsageError(`worker takes no arguments, got: ${rest.join(' ')}`);
  const { runWorker } = await import('../worker/runWorker.js');
  await runWorker();
  return 0;
}

const USAGE = `Usage: moovitamix <command> [options]

Commands:
  run [--date D] [--wait] [--json]   start the daily pipeline (see: moovitamix run --help)
  ingest --source S [--date D]        ingest one source alone
  status [RUN] [--json]               the latest runs, their checks, or one run's statistics
  watch [RUN]                         follow a run in progress, whoever started it
  runs [--query Q] [--json]           runs from Temporal by a List Filter over their search attributes
  report [--run RUN] [--json]         a run's quality checks and KPIs, and live feedback per model
  report --feedback [--json]          click-through per model version alone
  alerts [--all] [--json]             the open alerts
  recommend [--full] [--users IDS]    compute and publish recommendations; rollback|status|show
  serve [--host H] [--port P]         the HTTP service: dashboard, recommendations API (127.0.0.1:8080)
  retrain [--families F] [--wait]     train candidates, promote the best if it clears the rule
  models list|show|promote|rollback|evaluate
                                      the model registry; offline evaluation of a CSV
  schedule install|list|pause|unpause|trigger|delete
                                      the Temporal Schedules (daily pipeline, weekly retraining)
  backfill --from D --to D            one run per date, skipping dates already done
  setup                               register the workflows' search attributes in the namespace
  stack up|down|status|build          the local development stack (see: moovitamix stack --help)
  worker                              run a worker in the foreground
  simulator [options]                 serve the Moovitamix API from generated data (see: moovitamix simulator --help)

Configuration comes from the environment: MOOVITAMIX_API_URL, MONGODB_URI, MONGODB_DB,
TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TASK_QUEUE, and Temporal's own profile file
and TLS variables (TEMPORAL_PROFILE, TEMPORAL_API_KEY, TEMPORAL_TLS_*; see docs/configuration.md).`;

/** Runs one command; resolves to the process exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // The worker traces as a worker; every other command is one span, the root of what it starts.
  const tracing = command === 'worker' ? undefined : await cliTracing();
  if (!tracing) return run(command, rest);
  try {
    return await tracing.tracer.startActiveSpan(`moovitamix ${command ?? 'help'}`, { kind: SpanKind.CLIENT }, async (span) => {
      try {
        const code = await run(command, rest);
        span.setAttribute('process.exit.code', code);
        if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
        return code;
      } finally {
        span.end();
      }
    });
  } finally {
    await tracing.shutdown();
  }
}

/** Tracing for this command when the OTEL_* variables ask for it; a bad value is left for loadConfig to report. */
async function cliTracing(): Promise<Tracing | undefined> {
  const settings = readTracingSettings(process.env, []);
  // The SDK is loaded only when traces go somewhere.
  if (settings.exporter === 'none') return undefined;
  const { startTracing } = await import('../worker/tracing.js');
  return startTracing(settings, 'moovitamix-cli', { version: packageVersion() });
}

async function run(command: string | undefined, rest: string[]): Promise<number> {
  try {
    const load = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (load) return await (await load())(rest);
    switch (command) {
      case '--version':
      case '-v':
        console.log(packageVersion());
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    if (err instanceof ConfigError || err instanceof UsageError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`moovitamix: ${e.message}`);
      return 2;
    }
    console.error(`moovitamix: ${e.message}`);
    if (process.env.MOOVITAMIX_DEBUG) console.error(e.stack);
    return 1;
  }
}
