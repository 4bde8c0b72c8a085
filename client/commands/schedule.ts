import { parseArgs } from 'node:util';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { loadConfig, type Config } from '../../config/config.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import type { retrain } from '../../workflows/retrain.js';
import { table } from '../format.js';
import { withClient } from '../temporalClient.js';
import { UsageError } from '../../config/usageError.js';
import { registerSearchAttributes } from '../../stack/searchAttributes.js';

export const DAILY_SCHEDULE_ID = 'daily-pipeline';
export const RETRAIN_SCHEDULE_ID = 'weekly-retrain';

export const SCHEDULE_USAGE = `Usage: moovitamix schedule <install|list|pause|unpause|trigger|delete> [--id ID] [--note TEXT]

  install   create, or update to the definitions below, the Temporal Schedules
            (idempotent; --id installs one of them), after registering the search
            attributes the runs set (as moovitamix setup does):
            "${DAILY_SCHEDULE_ID}": dailyPipeline every day at 02:00 UTC, overlapping
            runs skipped, missed runs caught up for 1 day
            "${RETRAIN_SCHEDULE_ID}": retrain every Sunday at 04:00 UTC, overlapping runs
            skipped, a missed run caught up for 1 day
  list      the schedules of the namespace, with their next and recent runs
  pause     stop taking actions (--note says why)     unpause   take them again
  trigger   start a run now, as the schedule would    delete    remove the schedule
The other actions act on --id (default ${DAILY_SCHEDULE_ID}). Scheduled daily runs take
their date from TemporalScheduledStartTime; their workflow ids are daily-<scheduled
time>, retraining runs weekly-retrain-<scheduled time>.`;

/** Each schedule's whole definition, so that install can also bring an old one up to date. */
function definitions(config: Config) {
  return {
    [DAILY_SCHEDULE_ID]: {
      spec: { calendars: [{ hour: 2, minute: 0, comment: 'every day at 02:00 UTC' }], timezone: 'UTC' },
      action: {
        type: 'startWorkflow',
        workflowType: 'dailyPipeline',
        workflowId: 'daily',
        taskQueue: config.taskQueue,
        args: [{}],
      } satisfies ScheduleOptionsStartWorkflowAction<typeof dailyPipeline>,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day', pauseOnFailure: false },
      described: 'dailyPipeline every day at 02:00 UTC (overlap SKIP, catch-up window 1 day)',
    },
    [RETRAIN_SCHEDULE_ID]: {
      spec: { calendars: [{ dayOfWeek: 'SUNDAY' as const, hour: 4, minute: 0, comment: 'every Sunday at 04:00 UTC' }], timezone: 'UTC' },
      action: {
        type: 'startWorkflow',
        workflowType: 'retrain',
        workflowId: 'weekly-retrain',
        taskQueue: config.taskQueue,
        args: [{ trigger: 'schedule' }],
      } satisfies ScheduleOptionsStartWorkflowAction<typeof retrain>,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day', pauseOnFailure: false },
      described: 'retrain every Sunday at 04:00 UTC (overlap SKIP, catch-up window 1 day)',
    },
  };
}

export async function scheduleCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (!action || action === '--help' || action === '-h' || action === 'help') {
    console.log(SCHEDULE_USAGE);
    return action ? 0 : 2;
  }
  const { values } = parseArgs({ args: rest, options: { id: { type: 'string' }, note: { type: 'string' } }, strict: true });
  const id = values.id ?? DAILY_SCHEDULE_ID;
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(id)) throw new UsageError(`--id must be letters, digits, ".", "_" or "-", got "${id}"`);
  if (!['install', 'list', 'pause', 'unpause', 'trigger', 'delete'].includes(action))
    throw new UsageError(`unknown schedule action "${action}"\n\n${SCHEDULE_USAGE}`);

  const config = loadConfig();
  return withClient(config, async (client) => {
    const handle = client.schedule.getHandle(id);
    switch (action) {
      case 'install': {
        // The runs the schedules start set search attributes: the namespace must have them.
        const attributes = await registerSearchAttributes(client.connection.operatorService, config.temporalNamespace);
        if (attributes.added.length > 0) console.log(`Search attributes registered in ${config.temporalNamespace}: ${attributes.added.join(', ')}.`);
        const all = definitions(config);
        const ids = values.id === undefined ? (Object.keys(all) as (keyof typeof all)[]) : [id];
        for (const one of ids) {
          if (!(one in all)) throw new UsageError(`install knows the schedules ${Object.keys(all).join(' and ')}, not "${one}"`);
          await install(client, all[one as keyof typeof all], one);
        }
        return 0;
      }
      case 'list':
        return await list(client);
      case 'pause':
        await handle.pause(values.note ?? 'paused with moovitamix schedule pause');
        console.log(`Schedule ${id} paused.`);
        return 0;
      case 'unpause':
        await handle.unpause(values.note ?? 'unpaused with moovitamix schedule unpause');
        console.log(`Schedule ${id} unpaused.`);
        return 0;
      case 'trigger':
        await handle.trigger();
        console.log(`Schedule ${id} triggered: a run starts now (skipped if one is running).`);
        return 0;
      default:
        await handle.delete();
        console.log(`Schedule ${id} deleted.`);
        return 0;
    }
  });
}

async function install(client: Client, def: ReturnType<typeof definitions>[keyof ReturnType<typeof definitions>], id: string): Promise<void> {
  const { described, ...options } = def;
  try {
    await client.schedule.create({ scheduleId: id, ...options });
    console.log(`Schedule ${id} created: ${described}.`);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(id).update((previous) => ({ ...previous, ...options, state: previous.state }));
    console.log(`Schedule ${id} already existed: updated to the current definition.`);
  }
  const next = (await client.schedule.getHandle(id).describe()).info.nextActionTimes[0];
  if (next) console.log(`Next run of ${id}: ${next.toISOString()}`);
}

async function list(client: Client): Promise<number> {
  const rows: string[][] = [];
  for await (const s of client.schedule.list()) {
    const recent = s.info.recentActions.at(-1);
    rows.push([
      s.scheduleId,
      s.action?.workflowType ?? '-',
      s.state.paused ? `paused${s.state.note ? ` (${s.state.note})` : ''}` : 'active',
      s.info.nextActionTimes[0]?.toISOString() ?? '-',
      recent ? `${recent.action.workflow.workflowId} at ${recent.takenAt.toISOString()}` : '-',
    ]);
  }
  if (rows.length === 0) console.log('No schedules. Create the daily one with: moovitamix schedule install');
  else console.log(table(['schedule', 'workflow', 'state', 'next run', 'last run'], rows));
  return 0;
}
