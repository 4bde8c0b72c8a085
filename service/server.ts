import { readFileSync } from 'node:fs';
import type { Reply, Route } from './route.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { projectRoot } from '../config/paths.js';
import { activeState, challengerState } from '../stores/recommendations.js';
import { dashboardData } from './dashboardData.js';
import { feedbackRoutes } from './feedbackApi.js';
import { readJsonBody } from './jsonBody.js';
import { recommendationRoutes } from './recommendationsApi.js';

export interface ServiceOptions {
  db: Db;
  /** Routes served beside the built-in ones. */
  routes?: Route[];
  /** How long the recommendations API reuses the batch pointers (default 1 s). */
  pointerTtlMs?: number;
  /** Share of users served from the challenger's batch when one is published (0..0.5, default 0: off). */
  canaryShare?: number;
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};

const HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  // Everything the page needs is served from here: no inline script, no third party.
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
};

/** The largest POST body a route reads when it names no cap of its own. */
const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/**
 * The project's HTTP service (`moovitamix serve`): the read-only health dashboard and its
 * JSON API, the recommendations API, `POST /feedback`, `GET /health`, and whatever routes
 * are added. GET and HEAD, and POST where a route takes it; every answer is JSON except
 * the dashboard's own files; a failure answers 500 without details.
 */
export function createService(options: ServiceOptions): Server {
  const staticFiles = new Map(
    Object.entries(STATIC).map(([path, f]) => [path, { body: readFileSync(join(projectRoot, 'service', 'static', f.file)), type: f.type }]),
  );
  const routes: Route[] = [
    { method: 'GET', path: /^\/health$/, handle: async () => health(options.db, options.canaryShare ?? 0) },
    {
      method: 'GET',
      path: /^\/api\/dashboard$/,
      handle: async (_params, query) => {
        const limit = query.get('limit') ?? '30';
        if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > 365)
          return { status: 400, body: { error: 'limit must be a whole number from 1 to 365' } };
        return { status: 200, body: await dashboardData(options.db, Number(limit)) };
      },
    },
    ...recommendationRoutes(options.db, { pointerTtlMs: options.pointerTtlMs, canaryShare: options.canaryShare }),
    ...feedbackRoutes(options.db),
    ...(options.routes ?? []),
  ];

  return createServer((req, res) => {
    void answer(req, res).catch((err: unknown) => {
      process.stderr.write(`[serve] ${req.method} ${safePath(req.url)}: ${(err as Error).message}\n`);
      if (!res.headersSent) send(res, req, { status: 500, body: { error: 'internal error' } });
      else res.destroy();
    });
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return send(res, req, { status: 400, body: { error: 'malformed request target' } });
    }
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const file = staticFiles.get(url.pathname);
    if (file && method === 'GET') return send(res, req, { status: 200, body: file.body, contentType: file.type });
    const matching = routes.map((route) => ({ route, match: route.path.exec(url.pathname) })).filter((m) => m.match !== null);
    const chosen = matching.find((m) => m.route.method === method);
    if (!chosen) {
      if (!file && matching.length === 0) return send(res, req, { status: 404, body: { error: `no route for ${url.pathname.slice(0, 200)}` } });
      const allowed = [...new Set([...(file ? ['GET'] : []), ...matching.map((m) => m.route.method)])].flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
      res.setHeader('Allow', allowed.join(', '));
      return send(res, req, { status: 405, body: { error: `${url.pathname.slice(0, 200)} answers ${allowed.join(', ')} only` } });
    }
    const params = chosen.match?.groups ?? {};
    if (chosen.route.method === 'GET') return send(res, req, await chosen.route.handle(params, url.searchParams));
    const body = await readJsonBody(req, chosen.route.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    if (!body.ok) return send(res, req, body.reply);
    return send(res, req, await chosen.route.handle(params, url.searchParams, body.value));
  }
}

function send(res: ServerResponse, req: IncomingMessage, reply: Reply): void {
  const body = Buffer.isBuffer(reply.body)
    ? reply.body
    : Buffer.from(typeof reply.body === 'string' && reply.contentType ? reply.body : JSON.stringify(reply.body));
  res.writeHead(reply.status, { ...HEADERS, 'Content-Type': reply.contentType ?? 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function health(db: Db, canaryShare: number): Promise<Reply> {
  try {
    await db.command({ ping: 1 });
    const [state, challenger] = await Promise.all([activeState(db), challengerState(db)]);
    const body: Record<string, unknown> = {
      status: 'ok',
      database: 'ok',
      recommendations: state ? { batch_id: state.batch_id, switched_at: state.switched_at } : null,
    };
    // Named only when one is published, with the share of users it serves (0: none).
    if (challenger) body.challenger = { batch_id: challenger.batch_id, switched_at: challenger.switched_at, canary_share: canaryShare };
    return { status: 200, body };
  } catch {
    return { status: 503, body: { status: 'unavailable', database: 'unreachable' } };
  }
}

const safePath = (url: string | undefined) => (url ?? '').split('?')[0]?.slice(0, 200);
