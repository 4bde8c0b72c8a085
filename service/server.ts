import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { projectRoot } from '../config/paths.js';
import { activeState } from '../activities/recommend/store.js';
import { dashboardData } from './dashboardData.js';
import { recommendationRoutes } from './recommendationsApi.js';

/** A route answers with a status and a JSON body (or raw text with a content type). */
export interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

export interface Route {
  method: 'GET';
  /** Matched against the whole path; named groups become `params`. */
  path: RegExp;
  handle(params: Record<string, string>, query: URLSearchParams): Promise<Reply> | Reply;
}

export interface ServiceOptions {
  db: Db;
  /** Routes served beside the built-in ones. */
  routes?: Route[];
  /** How long the recommendations API reuses the active-batch pointer (default 1 s). */
  pointerTtlMs?: number;
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

/**
 * The project's HTTP service (`moovitamix serve`): the read-only health dashboard and its
 * JSON API, the recommendations API, `GET /health`, and whatever routes are added. Only GET and HEAD; every
 * answer is JSON except the dashboard's own files; a failure answers 500 without details.
 */
export function createService(options: ServiceOptions): Server {
  const staticFiles = new Map(Object.entries(STATIC).map(([path, f]) => [path, { body: readFileSync(join(projectRoot, 'service', 'static', f.file)), type: f.type }]));
  const routes: Route[] = [
    { method: 'GET', path: /^\/health$/, handle: async () => health(options.db) },
    {
      method: 'GET',
      path: /^\/api\/dashboard$/,
      handle: async (_params, query) => {
        const limit = query.get('limit') ?? '30';
        if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > 365) return { status: 400, body: { error: 'limit must be a whole number from 1 to 365' } };
        return { status: 200, body: await dashboardData(options.db, Number(limit)) };
      },
    },
    ...recommendationRoutes(options.db, { pointerTtlMs: options.pointerTtlMs }),
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
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, req, { status: 405, body: { error: 'only GET and HEAD are served' } });
    }
    const file = staticFiles.get(url.pathname);
    if (file) return send(res, req, { status: 200, body: file.body, contentType: file.type });
    for (const route of routes) {
      const match = route.path.exec(url.pathname);
      if (match) return send(res, req, await route.handle(match.groups ?? {}, url.searchParams));
    }
    return send(res, req, { status: 404, body: { error: `no route for ${url.pathname.slice(0, 200)}` } });
  }
}

function send(res: ServerResponse, req: IncomingMessage, reply: Reply): void {
  const body = Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(typeof reply.body === 'string' && reply.contentType ? reply.body : JSON.stringify(reply.body));
  res.writeHead(reply.status, { ...HEADERS, 'Content-Type': reply.contentType ?? 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

async function health(db: Db): Promise<Reply> {
  try {
    await db.command({ ping: 1 });
    const state = await activeState(db);
    return { status: 200, body: { status: 'ok', database: 'ok', recommendations: state ? { batch_id: state.batch_id, switched_at: state.switched_at } : null } };
  } catch {
    return { status: 503, body: { status: 'unavailable', database: 'unreachable' } };
  }
}

const safePath = (url: string | undefined) => (url ?? '').split('?')[0]?.slice(0, 200);
