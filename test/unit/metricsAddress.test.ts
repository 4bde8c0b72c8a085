import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { METRICS_PORT_TRIES, chooseMetricsAddress } from '../../worker/metricsAddress.js';
import { freePort } from '../../stack/ports.js';

// A worker never exits for want of a metrics port: it takes the next free one, or none.

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Holds `count` consecutive ports from a free one; the first port. */
async function holdRun(count: number, held: Server[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = await freePort();
    if (first + count > 65535) continue;
    const servers: Server[] = [];
    for (let p = first; p < first + count; p++) {
      const s = await listen(p);
      if (!s) break;
      servers.push(s);
    }
    if (servers.length === count) {
      held.push(...servers);
      return first;
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
  throw new Error(`no run of ${count} free ports found`);
}

describe('the worker metrics port', () => {
  const held: Server[] = [];
  afterEach(async () => {
    await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('is the configured one when free, and off at 0', async () => {
    const port = await freePort();
    expect(await chooseMetricsAddress('127.0.0.1', port)).to.deep.equal({
      address: `127.0.0.1:${port}`,
      description: `metrics http://127.0.0.1:${port}/metrics`,
    });
    expect(await chooseMetricsAddress('127.0.0.1', 0)).to.deep.equal({ address: null, description: 'metrics off (MOOVITAMIX_METRICS_PORT=0)' });
  });

  it('is the next free one when another process holds it, and none when all the tries are taken', async () => {
    const first = await holdRun(2, held);
    const next = await chooseMetricsAddress('127.0.0.1', first);
    expect(next.address).to.not.equal(null);
    const chosen = Number(next.address?.split(':')[1]);
    expect(chosen).to.be.within(first + 2, first + METRICS_PORT_TRIES - 1);
    expect(next.description).to.equal(`metrics http://127.0.0.1:${chosen}/metrics (port ${first} is taken by another process)`);
    await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));

    const all = await holdRun(METRICS_PORT_TRIES, held);
    expect(await chooseMetricsAddress('127.0.0.1', all)).to.deep.equal({
      address: null,
      description: `metrics off: ports ${all}-${all + METRICS_PORT_TRIES - 1} on 127.0.0.1 are all taken (set MOOVITAMIX_METRICS_PORT to a free one)`,
    });
  });
});
