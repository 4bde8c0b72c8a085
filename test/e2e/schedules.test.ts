import { expect } from 'chai';
import { Client, Connection } from '@temporalio/client';
import type { PipelineRunDocument } from '../../contracts/runs.js';
import type { Config } from '../../config/config.js';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { runCli } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { withWorker } from '../support/withWorker.js';

describe('schedules and backfills', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let sim: Simulator;
  let config: Config;
  let env: NodeJS.ProcessEnv;
  let client: Client;
  let connection: Connection;

  before(async () => {
    stack = await getTestStack();
    sim = createSimulator({ seed: 'schedules', tracks: 200, users: 200 });
    const base = stack.config();
    config = {
      ...base,
      apiUrl: await sim.listen(0),
      mongodbDb: `${stack.mongodbDb}_schedules`,
      taskQueue: 'schedules-test',
      http: { ...base.http, backoffMs: 50 },
    };
    env = stack.env({ MONGODB_DB: config.mongodbDb, TEMPORAL_TASK_QUEUE: config.taskQueue });
    connection = await Connection.connect({ address: stack.temporalAddress });
    client = new Client({ connection });
  });
  after(async () => {
    await connection.close();
    await sim.close();
  });

  it('install creates the daily and the weekly retraining schedules, and installing again updates them in place', async () => {
    const created = await runCli(['schedule', 'install'], env);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout)
      .to.include('Schedule daily-pipeline created')
      .and.match(/Next run of daily-pipeline: \d{4}-\d{2}-\d{2}T02:00:00\.000Z/);
    expect(created.stdout)
      .to.include('Schedule weekly-retrain created')
      .and.match(/Next run of weekly-retrain: \d{4}-\d{2}-\d{2}T04:00:00\.000Z/);
    const nextRetrain = new Date(/Next run of weekly-retrain: (\S+)/.exec(created.stdout)?.[1] ?? '');
    expect(nextRetrain.getUTCDay(), 'a Sunday').to.equal(0);
    const again = await runCli(['schedule', 'install'], env);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.include('already existed: updated');

    const description = await client.schedule.getHandle('daily-pipeline').describe();
    expect(description.spec.calendars?.[0]).to.deep.include({ hour: [{ start: 2, end: 2, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] });
    expect(description.policies).to.include({ overlap: 'SKIP', catchupWindow: 86_400_000 });
    expect(description.action).to.include({ type: 'startWorkflow', workflowType: 'dailyPipeline', taskQueue: 'schedules-test' });
    const weekly = await client.schedule.getHandle('weekly-retrain').describe();
    expect(weekly.spec.calendars?.[0]).to.deep.include({ dayOfWeek: [{ start: 'SUNDAY', end: 'SUNDAY', step: 1 }], hour: [{ start: 4, end: 4, step: 1 }] });
    expect(weekly.policies).to.include({ overlap: 'SKIP', catchupWindow: 86_400_000 });
    expect(weekly.action).to.include({ type: 'startWorkflow', workflowType: 'retrain', taskQueue: 'schedules-test' });
    expect(weekly.action.type === 'startWorkflow' && weekly.action.args).to.deep.equal([{ trigger: 'schedule' }]);
    const list = await runCli(['schedule', 'list'], env);
    expect(list.stdout)
      .to.match(/daily-pipeline\s+dailyPipeline\s+active/)
      .and.match(/weekly-retrain\s+retrain\s+active/);
    expect((await runCli(['schedule', 'delete', '--id', 'weekly-retrain'], env)).code).to.equal(0);
  });

  it('pause and unpause, with a note', async () => {
    expect((await runCli(['schedule', 'pause', '--note', 'maintenance'], env)).code).to.equal(0);
    expect((await client.schedule.getHandle('daily-pipeline').describe()).state).to.include({ paused: true, note: 'maintenance' });
    expect((await runCli(['schedule', 'list'], env)).stdout).to.include('paused (maintenance)');
    expect((await runCli(['schedule', 'unpause'], env)).code).to.equal(0);
    expect((await client.schedule.getHandle('daily-pipeline').describe()).state.paused).to.equal(false);
  });

  it('trigger starts a run that takes its date from the schedule, then delete removes the schedule', async () => {
    await withWorker(config, async () => {
      expect((await runCli(['schedule', 'trigger'], env)).code).to.equal(0);
      let workflowId: string | undefined;
      while (!workflowId) {
        workflowId = (await client.schedule.getHandle('daily-pipeline').describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
        if (!workflowId) await new Promise((r) => setTimeout(r, 200));
      }
      expect(workflowId).to.match(/^daily-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      const result = await client.workflow.getHandle(workflowId).result();
      expect(result.date).to.equal(workflowId.slice('daily-'.length, 'daily-'.length + 10));
      expect(result.sources.users).to.include({ fetched: 200, inserted: 200 });
    });
    expect((await runCli(['schedule', 'delete'], env)).code).to.equal(0);
    try {
      await client.schedule.getHandle('daily-pipeline').describe();
      expect.fail('the schedule should be gone');
    } catch (err) {
      expect((err as Error).name).to.equal('ScheduleNotFoundError');
    }
  });

  it('backfill runs one pipeline per date, skips dates already done, and runs a failed date again', async () => {
    const first = await withWorker(config, () => runCli(['backfill', '--from', '2026-03-01', '--to', '2026-03-03', '--json'], env));
    expect(first.code, first.stderr).to.equal(0);
    const report = JSON.parse(first.stdout) as {
      completed: number;
      skipped: number;
      failed: number;
      dates: { date: string; outcome: string; workflowId: string }[];
    };
    expect(report).to.include({ completed: 3, skipped: 0, failed: 0 });
    expect(report.dates.map((d) => [d.date, d.workflowId])).to.deep.equal([
      ['2026-03-01', 'daily-2026-03-01'],
      ['2026-03-02', 'daily-2026-03-02'],
      ['2026-03-03', 'daily-2026-03-03'],
    ]);

    // A failed run of 2026-03-04, on a worker that cannot reach the API.
    const broken = { ...config, apiUrl: `${config.apiUrl}/broken`, taskQueue: 'schedules-broken' };
    const failed = await withWorker(broken, () => runCli(['run', '--date', '2026-03-04', '--wait'], { ...env, TEMPORAL_TASK_QUEUE: broken.taskQueue }));
    expect(failed.code).to.equal(1);

    const second = await withWorker(config, () => runCli(['backfill', '--from', '2026-03-02', '--to', '2026-03-04'], env));
    expect(second.code, second.stderr).to.equal(0);
    expect(second.stdout).to.include('1 completed, 2 skipped (already done), 0 failed');
    expect(second.stdout).to.match(/2026-03-04\s+completed/);
    const runs = (await stack.mongo()).db(config.mongodbDb).collection<PipelineRunDocument>('pipeline_runs');
    expect((await runs.findOne({ _id: 'daily-2026-03-04' }))?.status).to.equal('COMPLETED');
  });

  it('backfill refuses a reversed or oversized range', async () => {
    const reversed = await runCli(['backfill', '--from', '2026-03-05', '--to', '2026-03-01'], env);
    expect(reversed.code).to.equal(2);
    expect(reversed.stderr).to.include('is after --to');
    const huge = await runCli(['backfill', '--from', '2020-01-01', '--to', '2026-01-01'], env);
    expect(huge.code).to.equal(2);
    expect(huge.stderr).to.include('at most 366 days');
  });
});
