import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRandom, type Random } from './random.js';

/**
 * Bad days on demand: the failures a robust client must survive (moovitamix-api.md,
 * "What a robust client must expect anyway"), injected into the list endpoints so
 * that tests exercise the real HTTP path instead of a mock.
 */
export type FaultKind =
  /** Answer `status` (default 503) with a FastAPI-style JSON body, and Retry-After if given. */
  | 'status'
  /** Answer `status` (default 502) with an HTML error page, as a proxy does. */
  | 'html'
  /** 200 with the page's JSON cut in half. */
  | 'truncated'
  /** 200 with a JSON body that is not a page envelope. */
  | 'bad-envelope'
  /** Close the connection without answering. */
  | 'reset'
  /** Answer normally after `delayMs`. */
  | 'delay';

export interface FaultRule {
  kind: FaultKind;
  /** Only this endpoint, e.g. "/tracks"; default every list endpoint. */
  path?: string;
  /** Only this page; default every page. */
  page?: number;
  /** How many matching requests fail; default all of them. */
  times?: number;
  status?: number;
  /** The Retry-After header to send with `status`: seconds or an HTTP date. */
  retryAfter?: string;
  delayMs?: number;
}

/** A share of list requests failing at random with a transient fault, reproducibly for a seed. */
export interface RandomFaults {
  /** Probability (0..1) that a list request fails. */
  rate: number;
  seed?: string;
  /** Include timeouts: answers delayed this long (longer than the client waits). */
  timeoutMs?: number;
}

// What the faults drawn at random look like: every transient failure of the contract.
const TRANSIENT: FaultRule[] = [
  { kind: 'status', status: 429, retryAfter: '1' },
  { kind: 'status', status: 429 },
  { kind: 'status', status: 500 },
  { kind: 'status', status: 503 },
  { kind: 'reset' },
  { kind: 'truncated' },
  { kind: 'html', status: 502 },
];

/** The faults a simulator applies, changeable while it runs. */
export class FaultPlan {
  private rules: (FaultRule & { left: number })[] = [];
  private random: { rate: number; draw: Random; kinds: FaultRule[] } | undefined;

  constructor(rules: FaultRule[] = [], random?: RandomFaults) {
    for (const rule of rules) this.add(rule);
    if (random) this.setRandom(random);
  }

  /** Fail a share of requests at random (rate 0 turns it off). */
  setRandom(random: RandomFaults): void {
    const kinds = random.timeoutMs ? [...TRANSIENT, { kind: 'delay' as const, delayMs: random.timeoutMs }] : TRANSIENT;
    this.random = random.rate > 0 ? { rate: random.rate, draw: createRandom(random.seed ?? 'faults'), kinds } : undefined;
  }

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? Infinity });
  }

  clear(): void {
    this.rules = [];
    this.random = undefined;
  }

  /** The fault this request triggers, if any: a rule (using up one of its `times`), else a random draw. */
  take(path: string, page: bigint): FaultRule | undefined {
    const rule = this.rules.find((r) => r.left > 0 && (r.path === undefined || r.path === path) && (r.page === undefined || BigInt(r.page) === page));
    if (rule) {
      rule.left--;
      return rule;
    }
    if (this.random && this.random.draw.next() < this.random.rate) return this.random.draw.pick(this.random.kinds);
    return undefined;
  }
}

/**
 * Answers a request as `rule` says. Returns true when the answer is complete; false for
 * `delay`, after which the caller answers normally.
 */
export async function applyFault(rule: FaultRule, req: IncomingMessage, res: ServerResponse, body: () => string): Promise<boolean> {
  switch (rule.kind) {
    case 'status': {
      const status = rule.status ?? 503;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (rule.retryAfter !== undefined) headers['retry-after'] = rule.retryAfter;
      res.writeHead(status, headers);
      res.end(JSON.stringify({ detail: `Simulated fault: ${status}` }));
      return true;
    }
    case 'html':
      res.writeHead(rule.status ?? 502, { 'content-type': 'text/html' });
      res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n');
      return true;
    case 'truncated': {
      const text = body();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(text.slice(0, Math.floor(text.length / 2)));
      return true;
    }
    case 'bad-envelope':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":[],"count":0}');
      return true;
    case 'reset':
      req.socket.destroy();
      return true;
    case 'delay':
      await new Promise((r) => setTimeout(r, rule.delayMs ?? 1_000));
      return false;
  }
}

const KINDS: readonly FaultKind[] = ['status', 'html', 'truncated', 'bad-envelope', 'reset', 'delay'];

/**
 * Reads a rule from the command line:
 * "kind=status,status=429,retry-after=2,path=/tracks,page=3,times=2".
 */
export function parseFaultRule(text: string): FaultRule {
  const fields = new Map(
    text.split(',').map((pair) => {
      const i = pair.indexOf('=');
      if (i <= 0) throw new Error(`--fault: "${pair}" is not key=value`);
      return [pair.slice(0, i).trim(), pair.slice(i + 1).trim()] as const;
    }),
  );
  const kind = fields.get('kind') as FaultKind | undefined;
  if (!kind || !KINDS.includes(kind)) throw new Error(`--fault needs kind= one of ${KINDS.join(', ')}`);
  const int = (key: string): number | undefined => {
    const v = fields.get(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new Error(`--fault: ${key} must be a whole number, got "${v}"`);
    return Number(v);
  };
  const known = new Set(['kind', 'path', 'page', 'times', 'status', 'retry-after', 'delay-ms']);
  for (const key of fields.keys()) if (!known.has(key)) throw new Error(`--fault: unknown key "${key}"`);
  return {
    kind,
    path: fields.get('path'),
    page: int('page'),
    times: int('times'),
    status: int('status'),
    retryAfter: fields.get('retry-after'),
    delayMs: int('delay-ms'),
  };
}
