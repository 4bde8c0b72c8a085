import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { freePort, freePortsBesides } from '../../stack/ports.js';

// The Temporal dev server is given every port it opens: ports picked one after the other
// must not repeat, nor take a port chosen for another of its listeners.

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('freePortsBesides', () => {
  it('gives distinct free ports, none of the ports already taken', async () => {
    const taken = [await freePort(), await freePort()];
    const ports = await freePortsBesides(taken, 3);
    expect(ports).to.have.length(3);
    expect(new Set(ports).size).to.equal(3);
    for (const p of ports) expect(taken).to.not.include(p);
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('gives none when none is asked for', async () => {
    expect(await freePortsBesides([1], 0)).to.deep.equal([]);
  });
});
