import { connect } from 'node:tls';
import { describeTemporalSecurity, type TemporalConnection } from './temporalConnection.js';

/** How long the probe waits for a handshake, and after it for the server's verdict on our certificate. */
const HANDSHAKE_MS = 3_000;
const VERDICT_MS = 500;

/**
 * Why a connection to Temporal failed, when TLS is the reason: Temporal's clients only
 * report that they could not connect before the deadline. A TLS handshake of our own, with
 * the same settings, says what went wrong (a certificate the server refuses, a server
 * certificate that does not chain to the CA or lacks the name, a server that speaks TLS to
 * a client that does not). Undefined when the handshake goes through, or nothing answers.
 */
export async function diagnoseTls(address: string, security: Pick<TemporalConnection, 'tls' | 'apiKey'>): Promise<string | undefined> {
  const cut = address.lastIndexOf(':');
  const host = address.slice(0, cut).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(cut + 1));
  const tls = security.tls;
  if (tls === undefined) {
    // Plain gRPC: does the server want TLS?
    const answer = await handshake(host, port, { rejectUnauthorized: false });
    return answer === 'ok' || answer.startsWith('the server refused')
      ? `the server at ${address} speaks TLS and this connection does not: set TEMPORAL_TLS=true (and the client certificate it asks for, see docs/operations.md)`
      : undefined;
  }
  const options =
    tls === true
      ? { servername: host }
      : {
          servername: tls.serverNameOverride ?? host,
          ...(tls.serverRootCACertificate ? { ca: tls.serverRootCACertificate } : {}),
          ...(tls.clientCertPair ? { cert: tls.clientCertPair.crt, key: tls.clientCertPair.key } : {}),
        };
  const answer = await handshake(host, port, options);
  return answer === 'ok' || answer === 'no answer' ? undefined : `TLS handshake with ${address}: ${answer}`;
}

function handshake(host: string, port: number, options: Record<string, unknown>): Promise<string> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const socket = connect({ host, port, ALPNProtocols: ['h2'], ...options });
    const timer = setTimeout(() => done('no answer'), HANDSHAKE_MS);
    // In TLS 1.3 the server judges the client's certificate after the client's side of the handshake is done.
    socket.once('secureConnect', () => setTimeout(() => done('ok'), VERDICT_MS));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const alert = /alert ([a-z ]+)/i.exec(err.message)?.[1];
      if (alert) done(`the server refused the client certificate (TLS alert: ${alert.trim()})`);
      else if (err.code === 'ECONNREFUSED' || err.code === 'ECONNRESET') done('no answer');
      else done(`${err.message}${err.code ? ` (${err.code})` : ''}`);
    });
    // The server's alert may come just after its close: give it a moment to be read.
    socket.once('end', () => setTimeout(() => done('the server closed the connection right after the handshake: it refused the client certificate'), 50));
    socket.resume();
  });
}

/**
 * Why Temporal at `address` could not be reached, for the worker's and the CLI's errors:
 * how the connection was secured, the SDK's message, and the TLS handshake's verdict when
 * TLS is the reason (else what to check).
 */
export async function temporalUnreachable(address: string, security: TemporalConnection, err: unknown): Promise<string> {
  const tls = await diagnoseTls(address, security);
  return (
    `Cannot reach Temporal at ${address} (${describeTemporalSecurity(security)}): ${(err as Error).message}. ` +
    (tls
      ? `${tls}.`
      : 'Start the dev stack with `moovitamix stack up`, or set TEMPORAL_ADDRESS (and the TLS settings of docs/operations.md for a secured server).')
  );
}
