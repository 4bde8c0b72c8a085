import { ConfigError } from '../config/config.js';
import { packageVersion } from '../config/paths.js';
import { readTracingSettings } from '../config/tracing.js';
import { startTracing, type Tracing } from '../worker/tracing.js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { runSimulator } from '../simulator/main.js';
import { runWorker } from '../worker/runWorker.js';
import { alertsCommand } from './commands/alerts.js';
import { backfillCommand } from './commands/backfill.js';
import { modelsCommand } from './commands/models.js';
import { retrainCommand } from './commands/retrain.js';
import { recommendCommand } from './commands/recommend.js';
import { reportCommand } from './commands/report.js';
import { serveCommand } from './commands/serve.js';
import { watchCommand } from './commands/watch.js';
import { ingestCommand, runCommand } from './commands/run.js';
import { scheduleCommand } from './commands/schedule.js';
import { runsCommand } from './commands/runs.js';
import { setupCommand } from './commands/setup.js';
import { stackCommand } from './commands/stack.js';
import { statusCommand } from './commands/status.js';
import { UsageError } from '../config/usageError.js';

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
  const tracing = command === 'worker' ? undefined : cliTracing();
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
function cliTracing(): Tracing | undefined {
  const settings = readTracingSettings(process.env, []);
  return startTracing(settings, 'moovitamix-cli', { version: packageVersion() });
}

async function run(command: string | undefined, rest: string[]): Promise<number> {
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest);
      case 'ingest':
        return await ingestCommand(rest);
      case 'status':
        return await statusCommand(rest);
      case 'watch':
        return await watchCommand(rest);
      case 'runs':
        return await runsCommand(rest);
      case 'setup':
        return await setupCommand(rest);
      case 'report':
        return await reportCommand(rest);
      case 'alerts':
        return await alertsCommand(rest);
      case 'serve':
        return await serveCommand(rest);
      case 'recommend':
        return await recommendCommand(rest);
      case 'retrain':
        return await retrainCommand(rest);
      case 'models':
        return await modelsCommand(rest);
      case 'schedule':
        return await scheduleCommand(rest);
      case 'backfill':
        return await backfillCommand(rest);
      case 'stack':
        return await stackCommand(rest);
      case 'worker':
        if (rest.includes('--help') || rest.includes('-h')) {
          console.log('Usage: moovitamix worker\n\nRuns one worker for TEMPORAL_TASK_QUEUE in the foreground until SIGINT or SIGTERM.');
          return 0;
        }
        if (rest.length > 0) throw new UsageError(`worker takes no arguments, got: ${rest.join(' ')}`);
        await runWorker();
        return 0;
      case 'simulator':
        await runSimulator(rest);
        return 0;
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
