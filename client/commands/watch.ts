import { parseArgs } from 'node:util';
import type { dailyPipeline } from '../../workflows/dailyPipeline.js';
import { loadConfig } from '../../config/config.js';
import { follow } from '../pipelineRuns.js';
import { withClient } from '../temporalClient.js';
import { UsageError } from '../../config/usageError.js';
import { RUN_ID } from './report.js';

export const WATCH_USAGE = `Usage: moovitamix watch [RUN] [--json]

Follows a run in progress (read through its workflow query), whoever started it: the
CLI, the schedule, a backfill or the Temporal UI. Without RUN, the newest dailyPipeline
still running. Prints the summary and the checks when it ends.`;

export async function watchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(WATCH_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`watch takes at most one run id, got: ${positionals.join(' ')}`);
  const id = positionals[0];
  if (id !== undefined && !RUN_ID.test(id)) throw new UsageError(`not a run id: ${JSON.stringify(id)}`);
  const config = loadConfig();
  return withClient(config, async (client) => {
    let workflowId = id;
    if (workflowId === undefined) {
      // Visibility lags a little behind: a run listed as running may have just closed.
      for await (const execution of client.workflow.list({ query: `WorkflowType = 'dailyPipeline' AND ExecutionStatus = 'Running'` })) {
        const described = await client.workflow
          .getHandle(execution.workflowId)
          .describe()
          .catch(() => undefined);
        if (described?.status.name === 'RUNNING') {
          workflowId = execution.workflowId;
          break;
        }
      }
      if (workflowId === undefined) {
        console.error('No dailyPipeline is running. See the finished ones with: moovitamix status');
        return 1;
      }
    }
    const handle = client.workflow.getHandle<typeof dailyPipeline>(workflowId);
    const description = await handle.describe().catch(() => undefined);
    if (!description) {
      console.error(`No workflow ${workflowId} in namespace ${config.temporalNamespace}.`);
      return 1;
    }
    (values.json ? process.stderr : process.stdout).write(`Following workflow ${workflowId} (run ${description.runId}, ${description.status.name})\n`);
    return await follow(client, handle, description.runId, config, values.json);
  });
}
