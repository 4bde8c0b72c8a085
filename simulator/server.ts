import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SourceName } from '../sources/index.js';
import { DEFAULT_COUNT, generateDataset, type Dataset, type DatasetOptions } from './dataset.js';
import { FaultPlan, applyFault, type FaultRule } from './faults.js';
import { SWAGGER_HTML, openApiDocument } from './openapi.js';
import { parsePageQuery } from './query.js';

export interface SimulatorOptions {
  /** Same seed, same dataset. Without one, every start serves a new dataset, as the real service does. */
  seed?: string;
  tracks?: number;
  users?: number;
  listenHistory?: number;
  /** Failures to inject into the list endpoints (none by default). */
  faults?: FaultRule[];
}

export interface Simulator {
  dataset: Dataset;
  /** The faults it injects; tests add and clear rules while it runs. */
  faults: FaultPlan;
  server: Server;
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:8000. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

const ROUTES: Readonly<Record<string, SourceName>> = {
  '/tracks': 'tracks',
  '/users': 'users',
  '/listen_history': 'listen_history',
};
const STATIC_ROUTES = new Set(['/', '/docs', '/openapi.json']);

export function resolveDatasetOptions(options: SimulatorOptions): DatasetOptions {
  const users = options.users ?? DEFAULT_COUNT;
  return {
    seed: options.seed ?? `${Date.now()}-${Math.random()}`,
    tracks: options.tracks ?? DEFAULT_COUNT,
    users,
    listenHistory: options.listenHistory ?? users,
  };
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const dataset = generateDataset(resolveDatasetOptions(options));
  const openapi = Buffer.from(JSON.stringify(openApiDocument()));
  const swagger = Buffer.from(SWAGGER_HTML);
  const faults = new FaultPlan(options.faults);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Only the path and query matter; a base is needed to parse a relative request target.
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://simulator');
    } catch {
      return json(res, 400, '{"detail":"Invalid request target"}');
    }
    const path = url.pathname;
    const known = path in ROUTES || STATIC_ROUTES.has(path);

    // Starlette redirects "/tracks/" to "/tracks" (redirect_slashes), keeping the query.
    if (!known && path.length > 1 && path.endsWith('/') && (path.slice(0, -1) in ROUTES || STATIC_ROUTES.has(path.slice(0, -1)))) {
      res.writeHead(307, { location: path.slice(0, -1) + url.search, 'content-length': 0 });
      return void res.end();
    }
    if (!known) return json(res, 404, '{"detail":"Not Found"}');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, '{"detail":"Method Not Allowed"}');
    }

    if (path === '/') {
      res.writeHead(307, { location: '/docs', 'content-length': 0 });
      return void res.end();
    }
    if (path === '/openapi.json') return send(res, 200, 'application/json', openapi);
    if (path === '/docs') return send(res, 200, 'text/html; charset=utf-8', swagger);

    const records = dataset.records[ROUTES[path] as SourceName];
    const query = parsePageQuery(url.searchParams);
    if (!query.ok) return json(res, 422, JSON.stringify({ detail: query.detail }));

    const total = records.length;
    const pages = Math.ceil(total / query.size);
    const body = (): string => {
      // A page past the last one is a 200 with no items, not an error.
      const offset = (query.page - 1n) * BigInt(query.size);
      const items = offset < BigInt(total) ? records.slice(Number(offset), Number(offset) + query.size) : [];
      return `{"items":[${items.join(',')}],"total":${total},"page":${query.page},"size":${query.size},"pages":${pages}}`;
    };
    const fault = faults.take(path, query.page);
    if (fault && (await applyFault(fault, req, res, body))) return;
    return json(res, 200, body());
  };

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    // The body of a GET is never read; drain it so the connection can be reused.
    req.resume();
    void handle(req, res);
  });

  return {
    dataset,
    faults,
    server,
    listen: (port, host = '127.0.0.1') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost}:${address.port}`);
        });
      }),
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function json(res: ServerResponse, status: number, body: string): void {
  send(res, status, 'application/json', Buffer.from(body));
}

function send(res: ServerResponse, status: number, contentType: string, body: Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': body.length, server: 'uvicorn' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
