import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { rootMessage } from '../workflows/failures.js';

/**
 * Waits for a started workflow, printing a progress line (from a query) every `everyMs`
 * to stderr, then its result: `render`ed, or as JSON. Resolves to the exit status: 0 done,
 * 1 when the workflow failed (its root cause is printed).
 */
export async function followWorkflow<W extends Workflow>(
  handle: WorkflowHandle<W>,
  options: { json: boolean; everyMs: number; progress: () => Promise<string>; render: (result: Awaited<ReturnType<W>>) => string },
): Promise<number> {
  process.stderr.write(`Started ${handle.workflowId}\n`);
  const ticker = setInterval(() => {
    void options
      .progress()
      .then((line) => process.stderr.write(`  ${line}\n`))
      .catch(() => {});
  }, options.everyMs);
  try {
    const result = (await handle.result()) as Awaited<ReturnType<W>>;
    console.log(options.json ? JSON.stringify(result, null, 2) : options.render(result));
    return 0;
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      console.error(`moovitamix: ${handle.workflowId} failed: ${rootMessage(err)}`);
      return 1;
    }
    throw err;
  } finally {
    clearInterval(ticker);
  }
}
