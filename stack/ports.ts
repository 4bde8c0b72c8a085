import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `count` ports free right now, distinct from each other and from `taken`: ports picked
 * one after the other can repeat once each is closed, and a server given the same port
 * twice fails to start.
 */
export async function freePortsBesides(taken: readonly number[], count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; ports.length < count; i++) {
    if (i >= 50 + count) throw new Error('no free ports found');
    const p = await freePort();
    if (!taken.includes(p) && !ports.includes(p)) ports.push(p);
  }
  return ports;
}

/** A free port p whose neighbour p + offset is free too (Temporal's UI port is gRPC + 1000). */
export async function freePortPair(offset: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    if (p + offset > 65535) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(p + offset, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return p;
  }
  throw new Error('no free port pair found');
}
