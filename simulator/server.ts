import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_COUNT, generateDataset, idRange, makeListenHistory, makeTrack, makeUser, type Dataset, type DatasetOptions } from './dataset.js';
import { FaultPlan, applyFault, type FaultRule, type RandomFaults } from './faults.js';
import { applyKnobs, mutateDataset, type DataKnobs, type KnobReport, type Mutation, type MutationReport } from './knobs.js';
import { SWAGGER_HTML, openApiDocument } from './openapi.js';
import { parsePageQuery } from './query.js';
import { createRandom } from './random.js';
import { SOURCE_NAMES, type SourceName } from '../contracts/names.js';

export interface SimulatorOptions extends DataKnobs {
  /** Same seed, same dataset. Without one, every start serves a new dataset, as the real service does. */
  seed?: string;
  tracks?: number;
  users?: number;
  listenHistory?: number;
  /**
   * Taste mode: users in latent taste clusters over genres and artists, power-law
   * popularity, histories that follow a user's taste (see taste.ts). Off by default:
   * the data is then as uniformly random as the real service's.
   */
  taste?: boolean;
  /** Taste clusters in taste mode; default from the catalogue size, 8 to 20. */
  tasteClusters?: number;
  /** Failures to inject into the list endpoints (none by default). */
  faults?: FaultRule[];
  /** A share of list requests failing at random with transient faults. */
  randomFaults?: RandomFaults;
  /** Added to every list answer. */
  latencyMs?: number;
  /** `total` changes mid-run: after this many requests to an endpoint, `growBy` records are appended to it. */
  growAfterRequests?: number;
  growBy?: number;
  /** A snapshot change applied at start, as after a partial restart of the service. */
  mutation?: Mutation;
}

export interface Simulator {
  dataset: Dataset;
  /** The faults it injects; tests add and clear rules while it runs. */
  faults: FaultPlan;
  /** What the data knobs did to the records served. */
  knobs: Record<SourceName, KnobReport>;
  /** The records as served (knobs applied), JSON text in serving order. */
  served(name: SourceName): readonly string[];
  /** Requests served per endpoint and page, e.g. "/tracks?page=3". */
  requestCounts(): Map<string, number>;
  /** Changes the snapshot now (percentages of each endpoint), as a partial restart would. */
  mutate(mutation: Mutation): Record<SourceName, MutationReport>;
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
  const resolved: DatasetOptions = {
    seed: options.seed ?? `${Date.now()}-${Math.random()}`,
    tracks: options.tracks ?? DEFAULT_COUNT,
    users,
    listenHistory: options.listenHistory ?? users,
  };
  if (options.taste) {
    resolved.taste = true;
    if (options.tasteClusters !== undefined) resolved.tasteClusters = options.tasteClusters;
  }
  return resolved;
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const dataset = generateDataset(resolveDatasetOptions(options));
  const seed = dataset.options.seed;
  let mutations = 0;
  if (options.mutation) mutateDataset(dataset, options.mutation, `${seed}/mutation-${mutations++}`);
  let { served, report } = applyKnobs(dataset, options, seed);

  const openapi = Buffer.from(JSON.stringify(openApiDocument()));
  const swagger = Buffer.from(SWAGGER_HTML);
  const faults = new FaultPlan(options.faults, options.randomFaults);
  const counts = new Map<string, number>();
  const perEndpoint = new Map<SourceName, number>();
  const grown = new Set<SourceName>();

  const mutate = (mutation: Mutation): Record<SourceName, MutationReport> => {
    const result = mutateDataset(dataset, mutation, `${seed}/mutation-${mutations++}`);
    ({ served, report } = applyKnobs(dataset, options, seed));
    return result;
  };

  /** Appends `growBy` new records to an endpoint: its `total` changes between two pages. */
  const grow = (name: SourceName): void => {
    const random = createRandom(`${seed}/grow/${name}`);
    const key = name === 'listen_history' ? 'user_id' : 'id';
    const used = new Set([...dataset.records[name].map((r) => (JSON.parse(r) as Record<string, number>)[key] as number), ...dataset.retired[name]]);
    const trackIds = dataset.records.tracks.map((t) => (JSON.parse(t) as { id: number }).id);
    const freeUsers = dataset.records.users.map((u) => (JSON.parse(u) as { id: number }).id).filter((id) => !used.has(id));
    for (let n = 0; n < (options.growBy ?? 0); n++) {
      if (name === 'listen_history') {
        const userId = freeUsers[n];
        if (userId === undefined) break;
        dataset.records[name].push(JSON.stringify(makeListenHistory(random, userId, trackIds)));
      } else {
        let id = 1 + random.int(idRange(used.size + 1));
        while (used.has(id)) id = 1 + random.int(idRange(used.size + 1));
        used.add(id);
        dataset.records[name].push(JSON.stringify(name === 'tracks' ? makeTrack(random, id) : makeUser(random, id)));
      }
    }
    ({ served, report } = applyKnobs(dataset, options, seed));
  };

  const admin = (path: string, url: URL, res: ServerResponse): void => {
    if (path === '/__simulator/stats') {
      return json(
        res,
        200,
        JSON.stringify({ seed, totals: Object.fromEntries(SOURCE_NAMES.map((n) => [n, served[n].length])), requests: Object.fromEntries(counts) }),
      );
    }
    if (path === '/__simulator/mutate') {
      const pct = (k: string) => Number(url.searchParams.get(k) ?? 0);
      const m = { updated: pct('updated'), deleted: pct('deleted'), added: pct('added') };
      if (Object.values(m).some((n) => !Number.isFinite(n) || n < 0 || n > 100))
        return json(res, 422, '{"detail":"updated, deleted and added are percentages 0-100"}');
      return json(res, 200, JSON.stringify(mutate(m)));
    }
    return json(res, 404, '{"detail":"Not Found"}');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Only the path and query matter; a base is needed to parse a relative request target.
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://simulator');
    } catch {
      return json(res, 400, '{"detail":"Invalid request target"}');
    }
    const path = url.pathname;
    if (path.startsWith('/__simulator/')) {
      if (req.method !== (path === '/__simulator/mutate' ? 'POST' : 'GET')) return json(res, 405, '{"detail":"Method Not Allowed"}');
      return admin(path, url, res);
    }
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

    const name = ROUTES[path] as SourceName;
    const query = parsePageQuery(url.searchParams);
    if (!query.ok) return json(res, 422, JSON.stringify({ detail: query.detail }));

    const counted = `${path}?page=${query.page}`;
    counts.set(counted, (counts.get(counted) ?? 0) + 1);
    const seen = (perEndpoint.get(name) ?? 0) + 1;
    perEndpoint.set(name, seen);
    if (options.growAfterRequests !== undefined && seen > options.growAfterRequests && !grown.has(name)) {
      grown.add(name);
      grow(name);
    }
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));

    const records = served[name];
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
    get knobs() {
      return report;
    },
    served: (name) => served[name],
    requestCounts: () => new Map(counts),
    mutate,
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
