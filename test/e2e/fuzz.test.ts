import { expect } from 'chai';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient, type CommandStartedEvent, type Db, type Document } from 'mongodb';
import { FEEDBACK_COUNTS, FEEDBACK_EVENTS, FEEDBACK_PENDING } from '../../stores/feedback/store.js';
import { ACTIVE_ID, BATCHES, STATE, batchCollection } from '../../stores/recommendations.js';
import { createService } from '../../service/server.js';
import { getTestStack, type TestStack } from '../support/testStack.js';

// Hostile input against the HTTP service on the real MongoDB-protocol server: thousands of
// seeded random requests (odd paths, methods, ids, query strings, bodies). The service
// must answer each one with 2xx or 4xx, in time, and nothing a client sends may reach the
// database unchecked: every command it issues is recorded and inspected.

const BATCH = 'fuzz-batch-1';
const MODEL = 'item-knn@3';
const USERS = 200;
const REQUESTS = 4_000;
const REQUEST_TIMEOUT_MS = 10_000;
const FEEDBACK = new Set([FEEDBACK_EVENTS, FEEDBACK_COUNTS, FEEDBACK_PENDING]);
/** What GET /api/dashboard reads (service/dashboardData.ts). */
const DASHBOARD_READS = new Set(['pipeline_runs', 'alerts', 'quality_reports', 'model_aliases', 'model_versions', 'retrain_runs', 'drift_reports']);

/** A small deterministic generator (mulberry32): the same seed sends the same requests. */
function generator(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  return { next, int, pick };
}
type Gen = ReturnType<typeof generator>;

const HOSTILE_IDS = [
  '-1',
  '0',
  '00',
  '1e400',
  '1e3',
  '9007199254740993',
  '99999999999999999999',
  '0x1f',
  'deadbeef',
  '1.5',
  ' 1',
  '1 ',
  '+1',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '..%2f..%2f',
  '%00',
  '1%00',
  '%ff',
  '%',
  '%E2%82%AC',
  'üser',
  '🎵',
  '{"$gt":""}',
  '%7B%22%24gt%22%3A%22%22%7D',
  '$where',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '[1]',
  '1,2',
  "1'--",
  '<script>',
  'a'.repeat(5000),
  '1'.repeat(400),
];
const HOSTILE_QUERIES = [
  'limit=10',
  'limit=10&limit=20',
  'limit=1e9',
  'limit=-1',
  'limit=0',
  'limit=101',
  'limit=',
  'limit',
  'limit[$gt]=',
  'limit[$gt]=0',
  'limit=%7B%22%24gt%22%3A%22%22%7D',
  'limit={"$gt":""}',
  'limit=5&x=%00',
  '%00=1',
  'limit=99999999999999999999',
  `limit=${'9'.repeat(3000)}`,
  'limit=0x10',
  'limit=1.5',
  'limit=%20%205',
  '__proto__=1',
  'constructor[prototype][x]=1',
  `${'a=1&'.repeat(500)}`,
  'limit=%ZZ',
];
const PATHS = [
  '/',
  '/health',
  '/api/dashboard',
  '/feedback',
  '/users',
  '/users/',
  '/users//recommendations',
  '/dashboard.js',
  '/favicon.svg',
  '/.env',
  '/../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/api',
  '/admin',
  '/users/1/recommendations/extra',
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
  '',
  'APPLICATION/JSON',
];

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** The body is valid feedback and should be accepted. */
  valid?: boolean;
}

function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

function randomEvent(g: Gen, valid: boolean): Record<string, unknown> {
  const event: Record<string, unknown> = {
    event_id: `fz-${g.int(1e9)}`,
    user_id: 1 + g.int(USERS),
    track_id: 1 + g.int(1000),
    model: MODEL,
    type: g.pick(['impression', 'play', 'like']),
    at: new Date(Date.now() - g.int(3_600_000)).toISOString(),
  };
  if (valid) return event;
  const field = g.pick(['event_id', 'user_id', 'track_id', 'model', 'type', 'at', 'extra']);
  event[field] = g.pick<unknown>([
    { $gt: '' },
    { $ne: null },
    -1,
    Infinity,
    '1',
    '$where',
    null,
    [],
    'x'.repeat(300),
    '2025-02-30T00:00:00Z',
    '../..',
    '\u0000',
    1.5,
    true,
  ]);
  return event;
}

function feedbackBody(g: Gen): { body: string | Uint8Array; valid: boolean } {
  switch (g.int(10)) {
    case 0:
      return { body: '{"user_id": 1, "track_id": ', valid: false };
    case 1:
      return { body: nested(1 + g.int(20_000), g.pick(['array', 'object'])), valid: false };
    case 2:
      return { body: `{"events": [${Array.from({ length: 501 + g.int(50) }, () => JSON.stringify(randomEvent(g, true))).join(',')}]}`, valid: false };
    case 3:
      return { body: 'x'.repeat(256 * 1024 + 1 + g.int(100_000)), valid: false };
    case 4:
      return { body: Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), valid: false };
    case 5:
      return {
        body: g.pick(['null', '[]', '"text"', '42', 'true', '{}', '{"events": []}', '{"events": {"$gt": ""}}', '{"__proto__": {"admin": true}}']),
        valid: false,
      };
    case 6:
      return { body: JSON.stringify({ events: [randomEvent(g, true), randomEvent(g, false)] }), valid: false };
    case 7:
      return { body: JSON.stringify(randomEvent(g, false)), valid: false };
    default:
      return {
        body: JSON.stringify(g.int(2) === 0 ? randomEvent(g, true) : { events: Array.from({ length: 1 + g.int(5) }, () => randomEvent(g, true)) }),
        valid: true,
      };
  }
}

function randomRequest(g: Gen): FuzzRequest {
  const roll = g.int(10);
  if (roll < 4) {
    const id = g.int(3) === 0 ? String(1 + g.int(USERS * 2)) : g.pick(HOSTILE_IDS);
    const query = g.int(3) === 0 ? '' : `?${g.pick(HOSTILE_QUERIES)}${g.int(4) === 0 ? `&${g.pick(HOSTILE_QUERIES)}` : ''}`;
    return { method: g.pick(['GET', 'GET', 'GET', 'HEAD', 'POST', 'DELETE']), path: `/users/${id}/recommendations${query}`, headers: {} };
  }
  if (roll < 7) {
    const { body, valid } = feedbackBody(g);
    const type = valid || g.int(4) > 0 ? 'application/json' : g.pick(CONTENT_TYPES);
    return {
      method: 'POST',
      path: g.int(20) === 0 ? `/feedback?${g.pick(HOSTILE_QUERIES)}` : '/feedback',
      headers: type ? { 'content-type': type } : {},
      body,
      valid: valid && type === 'application/json',
    };
  }
  const method = g.pick(METHODS);
  const path = `${g.pick(PATHS)}${g.int(3) === 0 ? `?${g.pick(HOSTILE_QUERIES)}` : ''}`;
  const withBody = method !== 'GET' && method !== 'HEAD' && g.int(2) === 0;
  return {
    method,
    path,
    headers: withBody ? { 'content-type': g.pick(CONTENT_TYPES) || 'application/json' } : {},
    ...(withBody ? { body: feedbackBody(g).body } : {}),
  };
}

/** Every `$` key anywhere in a command, and every string value. */
function walk(value: unknown, keys: Set<string>, strings: Set<string>): void {
  if (typeof value === 'string') strings.add(value);
  else if (Array.isArray(value)) for (const v of value) walk(v, keys, strings);
  else if (value !== null && typeof value === 'object' && !(value instanceof Date) && (value as { _bsontype?: string })._bsontype === undefined) {
    for (const [k, v] of Object.entries(value)) {
      if (k.startsWith('$')) keys.add(k);
      walk(v, keys, strings);
    }
  }
}

describe('hostile input to the HTTP service (seeded fuzzing, real database)', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let monitored: MongoClient;
  let server: Server;
  let db: Db;
  let base: string;
  const commands: CommandStartedEvent[] = [];

  before(async () => {
    stack = await getTestStack();
    const dbName = `${stack.mongodbDb}_fuzz`;
    const seedDb = (await stack.mongo()).db(dbName);
    const at = new Date('2025-01-03T06:00:00Z');
    await seedDb.collection(batchCollection(BATCH)).insertMany(
      Array.from({ length: USERS }, (_, u) => ({
        _id: String(u + 1),
        user_id: u + 1,
        batch_id: BATCH,
        model: MODEL,
        computed_in: BATCH,
        cold_start: false,
        count: 3,
        items: JSON.stringify([1, 2, 3].map((t) => ({ track_id: t + u, score: 1 / t, reason: 'similar', because: [7] }))),
      })) as never[],
    );
    await seedDb
      .collection(BATCHES)
      .insertOne({ _id: BATCH, status: 'published', collection: batchCollection(BATCH), published_at: at, created_at: at } as never);
    await seedDb
      .collection(STATE)
      .insertOne({ _id: ACTIVE_ID, batch_id: BATCH, collection: batchCollection(BATCH), previous_batch_id: null, switched_at: at, reason: 'fuzz' } as never);
    monitored = await MongoClient.connect(stack.mongodbUri, { monitorCommands: true });
    monitored.on('commandStarted', (event) => commands.push(event));
    db = monitored.db(dbName);
    server = createService({ db, pointerTtlMs: 0, canaryShare: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await monitored?.close();
  });

  const snapshot = async (names: string[]) =>
    Object.fromEntries(await Promise.all(names.map(async (n) => [n, await db.collection(n).find().sort({ _id: 1 }).toArray()] as const)));
  const collections = async () => (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();

  it(`answers ${REQUESTS} random requests with 2xx or 4xx, in time, and lets no input reach the database unchecked`, async () => {
    const before = await collections();
    const kept = await snapshot(before);
    commands.length = 0;
    const g = generator(20_251_123);
    const statuses = new Map<number, number>();
    const serverErrors: string[] = [];
    let validSent = 0;
    let validAccepted = 0;
    let accepted = 0;

    const send = async (r: FuzzRequest) => {
      const started = Date.now();
      const res = await fetch(`${base}${r.path}`, {
        method: r.method,
        headers: r.headers,
        body: r.body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }).catch((e: Error) => {
        throw new Error(`${r.method} ${r.path.slice(0, 120)}: no answer (${e.message}) after ${Date.now() - started} ms`);
      });
      const text = await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500 || res.status < 200 || (res.status >= 300 && res.status < 400))
        serverErrors.push(`${res.status} ${r.method} ${r.path.slice(0, 120)} ${String(r.body ?? '').slice(0, 80)}: ${text.slice(0, 200)}`);
      if (r.method === 'POST' && r.path.startsWith('/feedback') && res.status === 202) {
        const answer = JSON.parse(text) as { accepted: number };
        accepted += answer.accepted;
        if (r.valid) validAccepted += 1;
      }
      if (r.valid) {
        validSent += 1;
        expect(res.status, `valid feedback refused: ${text}`).to.equal(202);
      }
      if (res.status !== 202 && r.method === 'POST') expect(r.valid, `${r.path}: ${text.slice(0, 200)}`).to.not.equal(true);
    };

    // Eight clients at a time, as a busy service sees them.
    const requests = Array.from({ length: REQUESTS }, () => randomRequest(g));
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < requests.length) await send(requests[next++] as FuzzRequest);
      }),
    );

    expect(serverErrors, 'answers that are neither 2xx nor 4xx').to.deep.equal([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).to.equal(REQUESTS);
    // The mix reached every kind of answer: found, refused, wrong method, too large, wrong type, accepted.
    for (const status of [200, 202, 400, 404, 405, 413, 415]) expect(statuses.get(status) ?? 0, `answers ${status}`).to.be.greaterThan(0);
    expect(validAccepted).to.equal(validSent);
    expect(validSent).to.be.greaterThan(200);

    // What reached the database: lookups by `_id` of a string of digits or a known key, and
    // feedback writes whose every `$` key is one the recorder itself writes, never one sent.
    const lookups = new Map<string, Set<string>>();
    const operators = new Set<string>();
    const strings = new Set<string>();
    for (const c of commands) {
      const cmd = c.command as Document;
      const { lsid: _lsid, $clusterTime: _clock, $db: _db, ...rest } = cmd;
      walk(rest, operators, strings);
      if (c.commandName === 'find') {
        const collection = cmd.find as string;
        const filter = cmd.filter as Document;
        // The recorder's scans of its journal and the dashboard's reads carry no input but a
        // validated limit; they are checked with everything else, below.
        if (![batchCollection(BATCH), STATE, BATCHES].includes(collection)) {
          expect(DASHBOARD_READS.has(collection) || FEEDBACK.has(collection), `a read of ${collection}`).to.equal(true);
          continue;
        }
        expect(Object.keys(filter), `${collection}: ${JSON.stringify(filter)}`).to.deep.equal(['_id']);
        const id = filter._id as unknown;
        if (collection === batchCollection(BATCH))
          expect(id, 'user lookup')
            .to.be.a('string')
            .and.match(/^[1-9][0-9]{0,15}$/);
        else if (collection === STATE) expect(id).to.be.oneOf([ACTIVE_ID, 'challenger']);
        else if (collection === BATCHES) expect(id).to.equal(BATCH);
        lookups.set(collection, (lookups.get(collection) ?? new Set()).add(typeof id === 'string' ? 'string' : JSON.stringify(id)));
      } else if (['insert', 'update', 'delete', 'findAndModify'].includes(c.commandName)) {
        expect(FEEDBACK.has(cmd[c.commandName] as string), `${c.commandName} on ${String(cmd[c.commandName])}`).to.equal(true);
      } else {
        expect(['ping', 'getMore', 'killCursors', 'aggregate', 'count', 'endSessions'], `command ${c.commandName}`).to.include(c.commandName);
        if (c.commandName === 'aggregate' || c.commandName === 'count')
          expect(cmd[c.commandName]).to.be.oneOf([...FEEDBACK, ...DASHBOARD_READS, STATE, BATCHES]);
      }
    }
    expect(lookups.get(batchCollection(BATCH))?.size, 'user lookups were made').to.equal(1);
    // The inspection saw something: the recorder's own update operators, ids and keys.
    expect([...operators]).to.include('$inc');
    expect([...strings].some((x) => /^[1-9][0-9]*$/.test(x))).to.equal(true);
    const sentOperators = ['$gt', '$ne', '$where', '$regex', '$expr', '$function'];
    expect(
      [...operators].filter((o) => sentOperators.includes(o)),
      'operators from input',
    ).to.deep.equal([]);
    // No string a client could have smuggled: every string in a command is a key, a name or a validated value.
    expect(
      [...strings].filter((s) => !/^[A-Za-z0-9_:|@.#-]*$/.test(s) || s.includes('..')),
      'strings in commands',
    ).to.deep.equal([]);

    // The stores are as they were, but for the feedback accepted.
    const after = await collections();
    expect(after.filter((n) => !FEEDBACK.has(n))).to.deep.equal(before.filter((n) => !FEEDBACK.has(n)));
    expect(await snapshot(before.filter((n) => !FEEDBACK.has(n)))).to.deep.equal(Object.fromEntries(Object.entries(kept).filter(([n]) => !FEEDBACK.has(n))));
    expect(await db.collection(FEEDBACK_EVENTS).countDocuments()).to.equal(accepted);
    expect(accepted).to.be.greaterThan(validSent);
    expect(await db.collection(FEEDBACK_EVENTS).countDocuments({ model: { $ne: MODEL } })).to.equal(0);
  });
});
