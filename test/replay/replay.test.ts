import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { projectRoot } from '../../config/paths.js';
import { prebuiltBundlePath, prebuiltTracedBundlePath } from '../../worker/workflowBundle.js';
import { workflowTracingSinks } from '../../worker/tracing.js';

// Today's workflow code must replay the histories of workflows that ran with earlier
// code: a change that would break a running workflow fails here (use patched() then).
// historyFromJSON needs the one protobufjs the Temporal packages share: protobufjs 8 is
// a devDependency so that npm hoists a single copy for them.
const dir = join(projectRoot, 'test', 'replay', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

interface Recorded {
  workflowId: string;
  history: { events: { workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] };
}
const read = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Recorded;

describe('replay of recorded workflow histories', function () {
  this.timeout(60_000);

  it('has recorded histories of every workflow type', () => {
    const types = files.map((f) => read(f).history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name);
    expect(new Set(types)).to.deep.equal(new Set(['dailyPipeline', 'ingestSource', 'recommend', 'retrain']));
  });

  // A worker that traces and one that does not must each replay what the other ran.
  for (const file of files) {
    it(`replays ${file} without nondeterminism, with and without tracing's workflow interceptors`, async () => {
      const { workflowId, history } = read(file);
      await Worker.runReplayHistory({ workflowBundle: { codePath: prebuiltBundlePath } }, historyFromJSON(history), workflowId);
      await Worker.runReplayHistory(
        { workflowBundle: { codePath: prebuiltTracedBundlePath }, sinks: workflowTracingSinks(undefined) },
        historyFromJSON(history),
        workflowId,
      );
    });
  }
});
