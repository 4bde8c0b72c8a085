import { parseArgs } from 'node:util';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { loadConfig, type Config } from '../../config/config.js';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { table } from '../format.js';
import { connectClient } from '../temporalClient.js';
import { UsageError } from '../usage.js';

export const DAILY_SCHEDULE_ID = 'daily-pipeline';

export const SCHEDULE_USAGE = `Usage: moovitamix schedule <install|list|pause|unpause|trigger|delete> [--id ID] [--note TEXT]

  install   create, or update to the definition below, the Temporal Schedule
            "${DAILY_SCHEDULE_ID}": dailyPipeline every day at 02:00 UTC, overlapping
            runs skipped, missed runs caught up for 1 day (idempotent)
  list      the schedules of the namespace, with their next and recent runs
  pause     stop taking actions (--note says why)     unpause   take them again
  trigger   start a run now, as the schedule would    delete    remove the schedule
Scheduled runs take their date from TemporalScheduledStartTime; their workflow ids
are daily-<scheduled time>.`;

/** The schedule's whole definition, so that install can also bring an old one up to date. */
function definition(config: Config) {
  return {
    spec: { calendars: [{ hour: 2, minute: 0, comment: 'every day at 02:00 UTC' }], timezone: 'UTC' },
    action: {
      type: 'startWorkflow',
      workflowType: 'dailyPipeline',
      workflowId: 'daily',
      taskQueue: config.taskQueue,
      args: [{}],
    } satisfies ScheduleOptionsStartWorkflowAction<typeof dailyPipeline>,
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day', pauseOnFailure: false },
  };
}

export async function scheduleCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (!action || action === '--help' || action === '-h' || action === 'help') {
    console.log(SCHEDULE_USAGE);
    return action ? 0 : 2;
  }
  const { values } = parseArgs({ args: rest, options: { id: { type: 'string', default: DAILY_SCHEDULE_ID }, note: { type: 'string' } }, strict: true });
  const id = values.id;
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(id)) throw new UsageError(`--id must be letters, digits, ".", "_" or "-", got "${id}"`);
  if (!['install', 'list', 'pause', 'unpause', 'trigger', 'delete'].includes(action)) throw new UsageError(`unknown schedule action "${action}"\n\n${SCHEDULE_USAGE}`);

  const config = loadConfig();
  const { client, close } = await connectClient(config);
  try {
    const handle = client.schedule.getHandle(id);
    switch (action) {
      case 'install':
        return await install(client, config, id);
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
  } finally {
    await close();
  }
}

async function install(client: Client, config: Config, id: string): Promise<number> {
  const def = definition(config);
  try {
    await client.schedule.create<typeof dailyPipeline>({ scheduleId: id, ...def });
    console.log(`Schedule ${id} created: dailyPipeline every day at 02:00 UTC (overlap SKIP, catch-up window 1 day).`);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(id).update<typeof dailyPipeline>((previous) => ({ ...previous, ...def, state: previous.state }));
    console.log(`Schedule ${id} already existed: updated to the current definition.`);
  }
  const next = (await client.schedule.getHandle(id).describe()).info.nextActionTimes[0];
  if (next) console.log(`Next run: ${next.toISOString()}`);
  return 0;
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
