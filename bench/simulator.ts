// npm run bench:simulator -- [--count N] [--seconds S] [--connections C] [--json]
// Measures how many pages of 100 records a second the simulator serves, so we know it
// is never the bottleneck of an ingest benchmark. The simulator runs in a process of
// its own (one core), the load generator (autocannon) in this one (the other core).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { projectRoot } from '../config/paths.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    json: { type: 'boolean', default: false },
  },
});
const count = Number(values.count);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const log = (line: string) => (values.json ? process.stderr : process.stdout).write(`${line}\n`);

const simulator = spawn(
  process.execPath,
  [join(projectRoot, 'bin', 'moovitamix.js'), 'simulator', '--port', '0', '--seed', 'bench', '--count', String(count)],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const url = await new Promise<string>((resolve, reject) => {
  simulator.stdout.on('data', (d: Buffer) => {
    const m = /listening on (http:\/\/\S+)/.exec(String(d));
    if (m?.[1]) resolve(m[1]);
  });
  simulator.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
});

const pages = Math.ceil(count / 100);
const paths = ['/tracks', '/users', '/listen_history'];
let n = 0;
log(`Simulator with ${count} records per endpoint at ${url}; ${connections} keep-alive connections for ${seconds} s, pages of 100 across all endpoints`);

const result = await autocannon({
  url,
  connections,
  duration: seconds,
  requests: [
    {
      setupRequest: (req) => {
        const i = n++;
        return { ...req, path: `${paths[i % 3]}?page=${(Math.floor(i / 3) % pages) + 1}&size=100` };
      },
    },
  ],
});
simulator.kill('SIGTERM');

const body = Math.round(result.throughput.average / Math.max(result.requests.average, 1));
const figures = {
  recordsPerEndpoint: count,
  connections,
  seconds,
  pagesPerSecond: Math.round(result.requests.average),
  recordsPerSecond: Math.round(result.requests.average * 100),
  pages: result.requests.total,
  latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
  megabytesPerSecond: Number((result.throughput.average / 1e6).toFixed(1)),
  bytesPerPage: body,
  errors: result.errors,
  timeouts: result.timeouts,
  non2xx: result.non2xx,
};
if (values.json) console.log(JSON.stringify(figures, null, 2));
else {
  log(`${figures.pagesPerSecond} pages/s (${figures.recordsPerSecond} records/s), ${figures.megabytesPerSecond} MB/s, ~${body} bytes a page`);
  log(
    `latency p50 ${figures.latencyMs.p50} ms, p99 ${figures.latencyMs.p99} ms; errors ${figures.errors}, timeouts ${figures.timeouts}, non-2xx ${figures.non2xx}`,
  );
}
if (figures.errors + figures.non2xx + figures.timeouts > 0) process.exitCode = 1;
