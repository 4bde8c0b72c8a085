import { createServer } from 'node:net';

/** How many ports past the configured one a worker tries when another process holds it. */
export const METRICS_PORT_TRIES = 10;

export interface MetricsBinding {
  /** host:port to serve Prometheus metrics on, or null for none. */
  address: string | null;
  /** For the worker's first log line: where metrics are served, and why there. */
  description: string;
}

/**
 * Where this worker serves its metrics. The configured port (MOOVITAMIX_METRICS_PORT) if
 * free; where another process holds it (a second worker on this machine, the dev stack's
 * worker beside a benchmark), the next free port of the following METRICS_PORT_TRIES - 1;
 * none if all are taken. A worker never exits for want of a metrics port.
 */
export async function chooseMetricsAddress(host: string, port: number): Promise<MetricsBinding> {
  if (port === 0) return { address: null, description: 'metrics off (MOOVITAMIX_METRICS_PORT=0)' };
  const hostPart = host.includes(':') ? `[${host}]` : host;
  for (let p = port; p < Math.min(port + METRICS_PORT_TRIES, 65536); p++) {
    if (await canBind(host, p)) {
      const url = `http://${hostPart}:${p}/metrics`;
      return { address: `${hostPart}:${p}`, description: p === port ? `metrics ${url}` : `metrics ${url} (port ${port} is taken by another process)` };
    }
  }
  const last = Math.min(port + METRICS_PORT_TRIES, 65536) - 1;
  return { address: null, description: `metrics off: ports ${port}-${last} on ${host} are all taken (set MOOVITAMIX_METRICS_PORT to a free one)` };
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
