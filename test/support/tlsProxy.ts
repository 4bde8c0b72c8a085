import { connect, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';

export interface TlsProxy {
  /** host:port of the TLS endpoint. */
  address: string;
  /** Connections whose TLS handshake the proxy refused (no or a wrong client certificate). */
  refused: number;
  /** Connections it forwarded after a good handshake. */
  forwarded: number;
  close(): Promise<void>;
}

/**
 * A TLS endpoint in front of a plain gRPC server, as a secured Temporal frontend (or a
 * load balancer terminating mutual TLS) is: it requires a client certificate signed by
 * `ca`, speaks HTTP/2 (ALPN h2), and forwards the decrypted stream to `target`.
 */
export async function startTlsProxy(options: { target: string; cert: Buffer; key: Buffer; ca: Buffer }): Promise<TlsProxy> {
  const cut = options.target.lastIndexOf(':');
  const host = options.target.slice(0, cut);
  const port = Number(options.target.slice(cut + 1));
  const sockets = new Set<Socket>();
  const proxy: TlsProxy = { address: '', refused: 0, forwarded: 0, close: async () => {} };
  const server = createServer(
    { cert: options.cert, key: options.key, ca: options.ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
    (client: TLSSocket) => {
      proxy.forwarded++;
      const upstream = connect(port, host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('tlsClientError', () => proxy.refused++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the TLS proxy has no TCP address');
  proxy.address = `127.0.0.1:${address.port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}
