import { expect } from 'chai';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { startWorkerProcess, stopWorker, until, type WorkerProcess } from '../support/chaos.js';
import { runCli } from '../support/cli.js';
import { startOtlpReceiver, spanTree, type OtlpReceiver, type ReceivedSpan } from '../support/otlpReceiver.js';
import { getTestStack, type TestStack } from '../support/testStack.js';

// One trace of a daily run, end to end: a worker process and the CLI export spans over
// OTLP/HTTP, opted in by the standard OTEL_* variables, to a collector's endpoint in this
// process; the spans must form one tree from the CLI's command down to each HTTP request
// and MongoDB command.

const DATE = '2025-03-04';

describe('tracing a daily run with OpenTelemetry', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let sim: Simulator;
  let collector: OtlpReceiver;
  let worker: WorkerProcess | undefined;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    stack = await getTestStack();
    sim = createSimulator({ seed: 'tracing', tracks: 150, users: 150 });
    collector = await startOtlpReceiver();
    env = stack.env({
      MONGODB_DB: `${stack.mongodbDb}_tracing`,
      TEMPORAL_TASK_QUEUE: `tracing-${process.pid}`,
      MOOVITAMIX_API_URL: await sim.listen(0),
      MOOVITAMIX_HTTP_BACKOFF_MS: '20',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      // Export every 100 ms, not every 5 s: the test waits for the spans, not for a timer.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
  });
  after(async () => {
    await stopWorker(worker);
    await collector?.close();
    await sim?.close();
  });

  it('is one tree: the CLI command, the workflow, its children, their activities, each HTTP request and MongoDB command', async () => {
    worker = await startWorkerProcess(env);
    expect(worker.output()).to.include('tracing otlp');

    const run = await runCli(['run', '--date', DATE, '--wait', '--json'], env);
    expect(run.code, run.stderr).to.equal(0);

    const root = () => collector.spans.find((s) => s.name === 'moovitamix run' && s.service === 'moovitamix-cli');
    const named = (name: string) => collector.spans.filter((s) => s.name === name);
    // The CLI flushes as it exits; the worker within its export delay.
    await until(() => root() !== undefined && named('RunActivity:deliverSummary').length > 0, 30_000, 'the CLI and the worker exported the run');
    const top = root() as ReceivedSpan;
    const trace = collector.spans.filter((s) => s.traceId === top.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parent = (s: ReceivedSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
    const chain = (s: ReceivedSpan): string[] => {
      const names: string[] = [];
      for (let p: ReceivedSpan | undefined = s; p; p = parent(p)) names.unshift(p.name);
      return names;
    };
    const tree = spanTree(trace, top);
    if (process.env.MOOVITAMIX_PRINT_TRACE) process.stderr.write(`${tree}\n`);

    // Every span belongs to this trace but the worker's start-up ping, and every span but the root has its parent in it.
    expect(collector.spans.filter((s) => s.traceId !== top.traceId).map((s) => `${s.name} [${s.service}]`)).to.deep.equal(['ping [moovitamix-worker]']);
    expect(
      trace.filter((s) => s !== top && !parent(s)).map((s) => s.name),
      tree,
    ).to.deep.equal([]);
    expect(new Set(trace.map((s) => s.service))).to.deep.equal(new Set(['moovitamix-cli', 'moovitamix-worker']));

    // The workflow under the CLI's start, each source's child under it, and down to the requests.
    const workflow = named('RunWorkflow:dailyPipeline');
    expect(workflow).to.have.length(1);
    expect(chain(workflow[0] as ReceivedSpan)).to.deep.equal(['moovitamix run', 'StartWorkflow:dailyPipeline', 'RunWorkflow:dailyPipeline']);
    const children = named('RunWorkflow:ingestSource');
    expect(children).to.have.length(3);
    for (const child of children)
      expect(chain(child)).to.deep.equal([
        'moovitamix run',
        'StartWorkflow:dailyPipeline',
        'RunWorkflow:dailyPipeline',
        'StartChildWorkflow:ingestSource',
        'RunWorkflow:ingestSource',
      ]);
    const requests = trace.filter((s) => s.name === 'GET /tracks' || s.name === 'GET /users' || s.name === 'GET /listen_history');
    expect(requests.length, 'a span per page request (2 pages per source, and the probes)').to.be.at.least(6);
    for (const request of requests) {
      expect(chain(request).slice(-3)).to.deep.equal([
        'StartActivity:' + (parent(request) as ReceivedSpan).name.split(':')[1],
        (parent(request) as ReceivedSpan).name,
        request.name,
      ]);
      expect(request.attributes).to.include({ 'http.request.method': 'GET', 'http.response.status_code': 200 });
      expect(String(request.attributes['url.full'])).to.match(/^http:\/\/127\.0\.0\.1:\d+\/(tracks|users|listen_history)\?/);
    }
    const staged = trace.filter((s) => s.name === 'insert staging_pages');
    expect(staged.length, 'pages staged by fetchPageRange').to.be.greaterThan(0);
    for (const s of staged) expect(parent(s)?.name).to.equal('RunActivity:fetchPageRange');
    const merges = named('RunActivity:mergeSource');
    expect(merges).to.have.length(3);
    for (const merge of merges) {
      const commands = trace.filter((s) => s.parentSpanId === merge.spanId && s.attributes['db.system'] === 'mongodb');
      expect(commands.length, 'the merge reads and writes MongoDB under its span').to.be.greaterThan(3);
      expect(commands.map((c) => c.attributes['db.namespace'])).to.satisfy((ns: unknown[]) => ns.every((n) => n === `${stack.mongodbDb}_tracing`));
    }
    // The recommendations: a child workflow of the run, its scoring activities under it.
    const recommend = named('RunWorkflow:recommend');
    expect(recommend).to.have.length(1);
    expect(chain(recommend[0] as ReceivedSpan).slice(0, 4)).to.deep.equal([
      'moovitamix run',
      'StartWorkflow:dailyPipeline',
      'RunWorkflow:dailyPipeline',
      'StartChildWorkflow:recommend',
    ]);
    // Documents never travel in a span: only names.
    for (const s of trace.filter((x) => x.attributes['db.system'] === 'mongodb')) {
      expect(Object.keys(s.attributes).sort()).to.satisfy((keys: string[]) =>
        keys.every((k) => ['db.system', 'db.operation.name', 'db.namespace', 'db.collection.name', 'server.address'].includes(k)),
      );
    }
  });
});
