import { expect } from 'chai';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { SEARCH_ATTRIBUTE_LIST } from '../../contracts/searchAttributes.js';
import { searchAttributeGaps } from '../../stack/searchAttributes.js';
import { startWorkerProcess, stopWorker, until } from '../support/chaos.js';
import { runCli } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';

// A namespace of a cluster that has never seen the pipeline: the worker refuses to start
// (its workflows would fail every task on an attribute the namespace lacks) and says what
// to run; `moovitamix setup` registers the attributes, once; then the worker starts, and
// `runs --query` takes List Filters over them.

describe('search attributes on a namespace of their own', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;
  const namespace = `fresh-${process.pid}`;

  before(async () => {
    stack = await getTestStack();
    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
      // A new namespace is served once the frontend's cache has it.
      await until(
        async () =>
          connection.operatorService.listSearchAttributes({ namespace }).then(
            () => true,
            () => false,
          ),
        60_000,
        `namespace ${namespace} is served`,
      );
      expect((await searchAttributeGaps(connection.operatorService, namespace)).missing, 'a new namespace has none of them').to.have.length(
        SEARCH_ATTRIBUTE_LIST.length,
      );
    } finally {
      await connection.close();
    }
    env = stack.env({ TEMPORAL_NAMESPACE: namespace, TEMPORAL_TASK_QUEUE: `fresh-${process.pid}`, MONGODB_DB: `${stack.mongodbDb}_fresh` });
  });

  it('the worker refuses a namespace without them, naming the commands that register them', async () => {
    const worker = await runCli(['worker'], env, 60_000);
    expect(worker.code).to.not.equal(0);
    const said = worker.stdout + worker.stderr;
    expect(said).to.include(`namespace ${namespace} lacks the search attributes the workflows set: MoovitamixRunDate (Datetime), MoovitamixStatus (Keyword)`);
    expect(said).to.include('`moovitamix setup`').and.to.include('temporal operator search-attribute create --name MoovitamixRunDate --type Datetime');
    expect(said).to.include(`tcld namespace search-attributes add -n ${namespace} --sa "MoovitamixRunDate=Datetime"`);
  });

  it('`moovitamix setup` registers them once; the worker then starts; `runs` takes a List Filter and refuses a bad one', async () => {
    const first = await runCli(['setup'], env);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.include(`Namespace ${namespace}: search attributes added: ${SEARCH_ATTRIBUTE_LIST.map((a) => a.name).join(', ')}`);
    const again = await runCli(['setup'], env);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout.trim()).to.equal(`Namespace ${namespace}: search attributes all present`);

    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const gaps = await searchAttributeGaps(connection.operatorService, namespace);
      expect(gaps).to.deep.equal({ missing: [], wrongType: [] });
    } finally {
      await connection.close();
    }

    // The worker starts now.
    const worker = await startWorkerProcess(env);
    try {
      expect(worker.output()).to.include(`(namespace ${namespace}; TLS off (plain gRPC))`);
    } finally {
      await stopWorker(worker);
    }

    const none = await runCli(['runs', '--query', "WorkflowType = 'dailyPipeline' AND MoovitamixHealth = 'fail'"], env);
    expect(none.code, none.stderr).to.equal(0);
    expect(none.stdout.trim()).to.equal("No runs match WorkflowType = 'dailyPipeline' AND MoovitamixHealth = 'fail'");
    const bad = await runCli(['runs', '--query', 'NoSuchAttribute = 3'], env);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('Temporal refused the query "NoSuchAttribute = 3"');
    const badLimit = await runCli(['runs', '--limit', '0'], env);
    expect(badLimit.code).to.equal(2);
    expect(badLimit.stderr).to.include('--limit must be a whole number from 1 to 1000');
  });
});
