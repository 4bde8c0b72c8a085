import { expect } from 'chai';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from 'mongodb';
import { FeedbackRecorder } from '../../stores/feedback/record.js';
import { FEEDBACK_COUNTS, FEEDBACK_EVENTS, FEEDBACK_PENDING, type FeedbackCountDocument, type FeedbackEventDocument } from '../../stores/feedback/store.js';
import type { FeedbackSummary } from '../../stores/feedback/summary.js';
import { BATCHES, STATE, batchCollection, type StateDocument } from '../../stores/recommendations.js';
import { canaryBucket } from '../../service/canary.js';
import { createService, type ServiceOptions } from '../../service/server.js';
import { launchTestBrowser } from '../support/chromium.js';
import { runCli } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';

// Live feedback and the canary on the real MongoDB-protocol server, through HTTP as a
// client sends it: what is stored, what counts once, what is refused, what the report and
// the dashboard show, and which users the canary serves from the challenger.

const A = 'item-knn@3';
const B = 'most-popular@auto-0123456789abcdef';

describe('live feedback and the canary (HTTP service, real database)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  const servers: Server[] = [];

  before(async () => {
    stack = await getTestStack();
  });
  after(async () => {
    for (const s of servers) s.closeAllConnections();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function serve(name: string, options: Omit<ServiceOptions, 'db'> = {}) {
    const dbName = `${stack.mongodbDb}_fb_${name}`;
    const db = (await stack.mongo()).db(dbName);
    const server = createService({ db, pointerTtlMs: 0, ...options });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = async (body: unknown, init: { type?: string | null; raw?: boolean } = {}) => {
      const headers: Record<string, string> = init.type === null ? {} : { 'content-type': init.type ?? 'application/json' };
      const res = await fetch(`${base}/feedback`, { method: 'POST', headers, body: init.raw ? (body as string | Uint8Array) : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const get = async <T = Record<string, unknown>>(path: string) => {
      const res = await fetch(`${base}${path}`);
      return { status: res.status, body: (await res.json()) as T };
    };
    return { db, dbName, base, post, get };
  }

  const counters = async (db: Db) =>
    (await db.collection<FeedbackCountDocument>(FEEDBACK_COUNTS).find().toArray())
      .sort((a, b) => a._id.localeCompare(b._id))
      .map((c) => [c._id, c.impressions, c.plays, c.likes]);
  const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

  it('stores accepted events with their fields and counts each once, however often it is sent', async () => {
    const { db, post } = await serve('store');
    const at = hoursAgo(1);
    const one = await post({ event_id: 'ev-1', user_id: 7, track_id: 42, model: A, type: 'impression', at });
    expect(one).to.deep.equal({ status: 202, body: { received: 1, accepted: 1, duplicates: 0 } });
    const stored = await db.collection<FeedbackEventDocument>(FEEDBACK_EVENTS).findOne({ _id: 'e:7:ev-1' });
    expect(stored).to.deep.include({ event_id: 'ev-1', user_id: 7, track_id: 42, model: A, type: 'impression', at: new Date(at) });
    expect(stored?.received_at).to.be.instanceOf(Date);
    expect(stored?.attempt).to.match(/^[0-9a-f]{32}$/);

    // Without event_id or at: the server's time, and a key derived from the content.
    const before = Date.now();
    expect((await post({ user_id: 8, track_id: 43, model: B, type: 'like' })).body).to.deep.include({ accepted: 1 });
    const bare = await db.collection<FeedbackEventDocument>(FEEDBACK_EVENTS).findOne({ user_id: 8 });
    expect(bare?._id).to.match(/^h:[0-9a-f]{32}$/);
    expect(bare?.event_id).to.equal(null);
    expect(bare?.at.getTime()).to.be.within(before - 5, Date.now());

    // A batch with an id twice and a retry of the first event; then the whole batch again.
    const batch = {
      events: [
        { event_id: 'ev-1', user_id: 7, track_id: 42, model: A, type: 'impression', at },
        { event_id: 'ev-2', user_id: 7, track_id: 42, model: A, type: 'play', at },
        { event_id: 'ev-2', user_id: 7, track_id: 42, model: A, type: 'play', at },
        { event_id: 'ev-3', user_id: 7, track_id: 44, model: A, type: 'impression', at },
        { user_id: 9, track_id: 44, model: A, type: 'impression', at },
      ],
    };
    expect((await post(batch)).body).to.deep.equal({ received: 5, accepted: 3, duplicates: 2 });
    expect((await post(batch)).body).to.deep.equal({ received: 5, accepted: 0, duplicates: 5 });
    const day = at.slice(0, 10);
    const today = new Date().toISOString().slice(0, 10);
    expect(await counters(db)).to.deep.equal([
      [`${A}|${day}`, 3, 1, 0],
      [`${B}|${today}`, 0, 0, 1],
    ]);
    expect(await db.collection(FEEDBACK_EVENTS).countDocuments()).to.equal(5);

    // Concurrent requests, retries among them, on the same counter: FerretDB's read-modify-write
    // updates would lose increments if they ran at once.
    const fresh = Array.from({ length: 12 }, (_, r) => ({
      events: Array.from({ length: 5 }, (_, i) => ({ event_id: `c-${r}-${i}`, user_id: 20 + r, track_id: 100 + i, model: A, type: 'impression', at })),
    }));
    const sent = [...fresh, ...fresh.slice(0, 6)];
    const answers = await Promise.all(sent.map((b) => post(b)));
    expect(answers.every((a) => a.status === 202)).to.equal(true);
    expect(answers.reduce((n, a) => n + (a.body.accepted as number), 0)).to.equal(60);
    expect(answers.reduce((n, a) => n + (a.body.duplicates as number), 0)).to.equal(30);
    expect((await counters(db))[0]).to.deep.equal([`${A}|${day}`, 63, 1, 0]);
    expect(await db.collection(FEEDBACK_PENDING).countDocuments(), 'every journal entry is settled').to.equal(0);
    expect((await db.collection<FeedbackCountDocument>(FEEDBACK_COUNTS).find().toArray()).map((c) => Object.keys(c.applied ?? {}))).to.deep.equal([[], []]);
  });

  it('counts concurrent requests on one counter exactly (FerretDB updates are read-modify-write)', async () => {
    const { db } = await serve('concurrent');
    const recorder = new FeedbackRecorder(db);
    const at = new Date(hoursAgo(1));
    const one = (r: number) => ({ event_id: `r${r}`, user_id: 1, track_id: 2, model: A, type: 'impression' as const, at });
    // 60 requests at once, 20 of them retries of others: without one counter update at a time, about a third were lost.
    const results = await Promise.all(Array.from({ length: 60 }, (_, r) => recorder.record([one(r % 40)])));
    expect(results.reduce((n, r) => n + r.accepted, 0)).to.equal(40);
    expect(await counters(db)).to.deep.equal([[`${A}|${at.toISOString().slice(0, 10)}`, 40, 0, 0]]);
  });

  it('counts exactly once the events of a request that died half-way', async () => {
    const { db } = await serve('settle');
    const events = db.collection<FeedbackEventDocument>(FEEDBACK_EVENTS);
    const at = new Date(hoursAgo(2));
    const day = at.toISOString().slice(0, 10);
    const ev = (id: string, attempt: string, type: 'impression' | 'play') => ({
      _id: id,
      event_id: id,
      user_id: 1,
      track_id: 2,
      model: A,
      type,
      at,
      received_at: at,
      attempt,
    });
    // Attempt "dead1" inserted two events and died before counting; "e3" was inserted by another attempt.
    // Attempt "dead2" had counted its event (its marker is in the counter) and died before cleaning up.
    await events.insertMany([ev('e1', 'dead1', 'impression'), ev('e2', 'dead1', 'play'), ev('e3', 'other', 'play'), ev('e4', 'dead2', 'impression')]);
    await db.collection(FEEDBACK_PENDING).insertMany([
      { _id: 'dead1', ids: ['e1', 'e2', 'e3', 'never-inserted'], received_at: at },
      { _id: 'dead2', ids: ['e4'], received_at: at },
      { _id: 'young', ids: [], received_at: new Date() },
    ] as never[]);
    await db
      .collection(FEEDBACK_COUNTS)
      .insertOne({ _id: `${A}|${day}`, model: A, day, impressions: 1, plays: 0, likes: 0, applied: { dead2: true }, updated_at: at } as never);

    const recorder = new FeedbackRecorder(db);
    expect(await recorder.settle(60_000), 'the young entry may still be in flight').to.equal(2);
    expect(await counters(db)).to.deep.equal([[`${A}|${day}`, 2, 1, 0]]);
    expect((await db.collection(FEEDBACK_PENDING).find().toArray()).map((p) => p._id)).to.deep.equal(['young']);
    expect(await recorder.settle(60_000)).to.equal(0);
    expect(await counters(db)).to.deep.equal([[`${A}|${day}`, 2, 1, 0]]);
  });

  it('shows click-through per model exactly, in report --json, the text report, the dashboard data and page', async () => {
    const { db, dbName, base, post, get } = await serve('ctr');
    const env = stack.env({ MONGODB_DB: dbName });
    const empty = await runCli(['report', '--feedback'], env);
    expect(empty.code, empty.stderr).to.equal(0);
    expect(empty.stdout).to.include('Live feedback: none yet.');
    expect((await get<{ feedback: FeedbackSummary }>('/api/dashboard')).body.feedback.models).to.deep.equal([]);

    const [yesterday, today] = [hoursAgo(24), new Date().toISOString()];
    const events = (model: string, type: string, n: number, at: string) =>
      Array.from({ length: n }, (_, i) => ({
        event_id: `${model.length}-${type}-${at.slice(0, 10)}-${i}`,
        user_id: i + 1,
        track_id: 500 + i,
        model,
        type,
        at,
      }));
    const sent = [
      ...events(A, 'impression', 6, yesterday),
      ...events(A, 'play', 2, yesterday),
      ...events(A, 'impression', 4, today),
      ...events(A, 'play', 1, today),
      ...events(B, 'impression', 4, today),
      ...events(B, 'play', 1, today),
      ...events(B, 'like', 1, today),
    ];
    expect((await post({ events: sent })).body).to.deep.equal({ received: 19, accepted: 19, duplicates: 0 });
    expect((await post({ events: sent.slice(0, 9) })).body, 'a retry changes nothing').to.deep.include({ accepted: 0, duplicates: 9 });

    const [d1, d2] = [yesterday.slice(0, 10), today.slice(0, 10)];
    // Rates are given to 6 decimals (2/6 is 0.333333).
    const rates = (impressions: number, plays: number, likes: number) => ({
      impressions,
      plays,
      likes,
      ctr: Math.round((plays / impressions) * 1e6) / 1e6,
      likeRate: Math.round((likes / impressions) * 1e6) / 1e6,
    });
    const expected = [
      {
        model: A,
        ...rates(10, 3, 0),
        firstDay: d1,
        lastDay: d2,
        days: [
          { day: d1, ...rates(6, 2, 0) },
          { day: d2, ...rates(4, 1, 0) },
        ],
      },
      { model: B, ...rates(4, 1, 1), firstDay: d2, lastDay: d2, days: [{ day: d2, ...rates(4, 1, 1) }] },
    ];
    const json = await runCli(['report', '--feedback', '--json'], env);
    expect(json.code, json.stderr).to.equal(0);
    expect((JSON.parse(json.stdout) as { feedback: FeedbackSummary }).feedback.models).to.deep.equal(expected);
    const text = await runCli(['report', '--feedback'], env);
    expect(text.stdout).to.match(new RegExp(`${A}\\s+10\\s+3\\s+0\\s+30\\.00 %\\s+0\\.00 %`));
    expect(text.stdout).to.match(new RegExp(`${B}\\s+4\\s+1\\s+1\\s+25\\.00 %\\s+25\\.00 %`));
    expect((await get<{ feedback: FeedbackSummary }>('/api/dashboard')).body.feedback.models).to.deep.equal(expected);
    // The full report still needs a run, and says so.
    const noRun = await runCli(['report'], env);
    expect([noRun.code, noRun.stderr.trim()]).to.deep.equal([1, 'No runs yet. Start one with: moovitamix run --wait']);
    // With a run, the feedback follows its checks and KPIs.
    await db.collection('pipeline_runs').insertOne({
      _id: 'daily-x',
      run_id: 'r1',
      date: d2,
      status: 'COMPLETED',
      started_at: new Date(),
      finished_at: new Date(),
      duration_ms: 1000,
      sources: {},
    } as never);
    const full = await runCli(['report'], env);
    expect(full.stdout)
      .to.include(`Quality report of run daily-x (${d2}): COMPLETED`)
      .and.include('Live feedback per model version (CTR = plays / impressions), all time:');
    expect(full.stdout).to.include(`  ${B}: ${d2.slice(5)} 1/4 = 25.00 %`);
    expect(full.stdout).to.include(`  ${A}: ${d1.slice(5)} 2/6 = 33.33 %, ${d2.slice(5)} 1/4 = 25.00 %`);
    const fullJson = JSON.parse((await runCli(['report', '--json'], env)).stdout) as { run: { id: string }; feedback: FeedbackSummary };
    expect([fullJson.run.id, fullJson.feedback.models]).to.deep.equal(['daily-x', expected]);

    const browser = await launchTestBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      await page.waitForSelector('body[data-ready="true"]');
      const rows = await page.$$eval('#feedback tbody tr[data-model]', (trs) =>
        trs.map((tr) => [
          tr.getAttribute('data-model'),
          ...[...tr.querySelectorAll('td[data-field]')].map((td) => [td.getAttribute('data-field'), td.getAttribute('data-value'), td.textContent]),
        ]),
      );
      expect(rows).to.deep.equal([
        [A, ['impressions', '10', '10'], ['plays', '3', '3'], ['likes', '0', '0'], ['ctr', '0.3', '30 %'], ['likeRate', '0', '0 %']],
        [B, ['impressions', '4', '4'], ['plays', '1', '1'], ['likes', '1', '1'], ['ctr', '0.25', '25 %'], ['likeRate', '0.25', '25 %']],
      ]);
      const points = await page.$$eval('[data-chart="ctr"] circle[data-value]', (els) =>
        els.map((e) => [e.getAttribute('data-series'), Number(e.getAttribute('data-value'))]),
      );
      expect(points).to.deep.equal(expected.flatMap((m) => m.days.map((d) => [m.model, Math.round(d.ctr * 1e4) / 100])));
    } finally {
      await browser.close();
    }
  });

  it('refuses hostile bodies with 4xx and a JSON reason, and stores nothing', async () => {
    const { db, base, post } = await serve('hostile');
    const valid = { user_id: 7, track_id: 42, model: A, type: 'play' };
    const snapshot = async () => Promise.all([FEEDBACK_EVENTS, FEEDBACK_COUNTS, FEEDBACK_PENDING].map((c) => db.collection(c).find().toArray()));
    expect((await post({ ...valid, event_id: 'keep' })).status).to.equal(202);
    const before = await snapshot();

    const cases: [string, () => Promise<{ status: number; body: Record<string, unknown> }>, number, string][] = [
      ['malformed JSON', () => post('{"user_id": 7,', { raw: true }), 400, 'the body is not valid JSON'],
      ['empty body', () => post('', { raw: true }), 400, 'the body is empty'],
      ['not UTF-8', () => post(Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { raw: true }), 400, 'the body is not UTF-8 text'],
      ['an operator for the body', () => post({ $gt: '' }), 400, 'invalid feedback: user_id: is required'],
      ['an operator for an id', () => post({ ...valid, user_id: { $gt: '' } }), 400, 'invalid feedback: user_id: must be a number'],
      [
        'an operator in a batch',
        () => post({ events: [valid, { ...valid, track_id: { $ne: null } }] }),
        400,
        'invalid feedback: events.1.track_id: must be a number',
      ],
      ['a negative id', () => post({ ...valid, user_id: -5 }), 400, 'user_id: must be >= 1'],
      [
        'a huge id',
        () => post('{"user_id": 7, "track_id": 100000000000000000000, "model": "item-knn@3", "type": "play"}', { raw: true }),
        400,
        'track_id: must be a safe integer',
      ],
      [
        'an infinite id',
        () => post('{"user_id": 7, "track_id": 1e400, "model": "item-knn@3", "type": "play"}', { raw: true }),
        400,
        'track_id: must be an integer',
      ],
      ['an unknown type', () => post({ ...valid, type: 'skip' }), 400, 'type: must be one of impression, play, like'],
      ['an extra field', () => post({ ...valid, score: 1 }), 400, 'unknown field "score"'],
      ['a model key with an injection', () => post({ ...valid, model: '$where' }), 400, 'model: must be a model key'],
      ['a time far ahead', () => post({ ...valid, at: '2999-01-01T00:00:00Z' }), 400, 'at: must not be more than 5 minutes in the future'],
      ['too many events', () => post({ events: Array.from({ length: 501 }, () => valid) }), 400, 'events: must hold at most 500 events'],
      ['deep nesting', () => post(`${'['.repeat(100_000)}${']'.repeat(100_000)}`, { raw: true }), 400, 'must be a JSON object'],
      ['1 MB body', () => post({ events: [valid], pad: 'x'.repeat(1024 * 1024) }), 413, 'the body must be at most 262144 bytes'],
      ['text/plain', () => post(valid, { type: 'text/plain' }), 415, 'application/json'],
      ['a form', () => post('user_id=7', { raw: true, type: 'application/x-www-form-urlencoded' }), 415, 'application/json'],
      ['no content type', () => post(valid, { type: null }), 415, 'application/json'],
      ['another charset', () => post(valid, { type: 'application/json; charset=latin1' }), 415, 'application/json'],
    ];
    for (const [name, send, status, error] of cases) {
      const res = await send();
      expect(res.status, name).to.equal(status);
      expect(String(res.body.error), name).to.include(error);
    }
    // A body that declares no length (chunked) is cut at the cap as well.
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
    let sentChunks = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sentChunks++ < 16) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const chunked = await fetch(`${base}/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).to.equal(413);
    const issues = (await post({ events: [valid, { ...valid, user_id: 0, type: 'x' }] })).body.issues;
    expect(issues).to.deep.equal([
      { path: 'events.1.user_id', message: 'must be >= 1' },
      { path: 'events.1.type', message: 'must be one of impression, play, like' },
    ]);
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await fetch(`${base}/feedback`, { method });
      expect([res.status, res.headers.get('allow')], method).to.deep.equal([405, 'POST']);
    }
    expect(await snapshot()).to.deep.equal(before);
    // The service still works after all that.
    expect((await post({ ...valid, event_id: 'after' })).body).to.deep.include({ accepted: 1 });
  });

  describe('canary', () => {
    const USERS = Array.from({ length: 1000 }, (_, i) => i + 1);
    const CHAMPION = 'item-knn@3';
    const CHALLENGER = 'ease@1';
    // The challenger's batch lacks every tenth user: they fall back to the champion's.
    const inChallenger = (u: number) => u % 10 !== 0;

    async function publishBoth(db: Db) {
      const published = { champ: new Date('2025-03-01T02:00:00Z'), chal: new Date('2025-03-02T02:00:00Z') };
      for (const [batchId, model, users] of [
        ['champ', CHAMPION, USERS],
        ['chal', CHALLENGER, USERS.filter(inChallenger)],
      ] as const) {
        await db.collection(BATCHES).insertOne({
          _id: batchId,
          status: 'published',
          collection: batchCollection(batchId),
          model: { key: model },
          published_at: published[batchId],
        } as never);
        await db.collection(batchCollection(batchId)).insertMany(
          users.map((u) => ({
            _id: String(u),
            user_id: u,
            batch_id: batchId,
            model,
            computed_in: batchId,
            cold_start: false,
            count: 1,
            items: JSON.stringify([{ track_id: u, score: 1, reason: 'popular', because: [] }]),
          })) as never[],
        );
      }
      const pointer = (id: 'active' | 'challenger', batchId: string): StateDocument => ({
        _id: id,
        batch_id: batchId,
        collection: batchCollection(batchId),
        previous_batch_id: null,
        switched_at: published[batchId as 'champ'],
        reason: 'test',
      });
      await db.collection<StateDocument>(STATE).insertMany([pointer('active', 'champ'), pointer('challenger', 'chal')]);
      return published;
    }

    type Answer = { user_id: number; batch_id: string; model: string; arm: string; published_at: string; items: { track_id: number }[] };
    async function askAll(get: <T>(path: string) => Promise<{ status: number; body: T }>) {
      const answers: Answer[] = [];
      for (let i = 0; i < USERS.length; i += 10) {
        const page = await Promise.all(USERS.slice(i, i + 10).map((u) => get<Answer>(`/users/${u}/recommendations`)));
        for (const a of page) {
          expect(a.status).to.equal(200);
          answers.push(a.body);
        }
      }
      return answers;
    }

    it('serves everyone from the active batch while the share is 0', async () => {
      const { db, get } = await serve('canary_off');
      await publishBoth(db);
      const answers = await askAll(get);
      expect(answers.filter((a) => a.arm !== 'champion' || a.batch_id !== 'champ' || a.model !== CHAMPION)).to.deep.equal([]);
      expect((await get('/health')).body).to.deep.include({ challenger: { batch_id: 'chal', switched_at: '2025-03-02T02:00:00.000Z', canary_share: 0 } });
    });

    it('with share 0.3 serves exactly the users hashed below it from the challenger, the rest and the missing from the champion', async () => {
      const { db, get } = await serve('canary_on', { canaryShare: 0.3 });
      const published = await publishBoth(db);
      const answers = await askAll(get);
      const below = USERS.filter((u) => canaryBucket(u) < 0.3);
      const expectedChallenger = below.filter(inChallenger);
      const served = answers.filter((a) => a.arm === 'challenger').map((a) => a.user_id);
      expect(served).to.deep.equal(expectedChallenger);
      expect(below.length / USERS.length, 'the share observed').to.be.within(0.25, 0.35);
      expect(below.length - expectedChallenger.length, 'users the challenger lacks fall back').to.be.greaterThan(0);
      for (const a of answers) {
        const challenger = a.arm === 'challenger';
        expect([a.batch_id, a.model, a.published_at, a.items[0]?.track_id], `user ${a.user_id}`).to.deep.equal([
          challenger ? 'chal' : 'champ',
          challenger ? CHALLENGER : CHAMPION,
          (challenger ? published.chal : published.champ).toISOString(),
          a.user_id,
        ]);
      }
      expect((await get('/health')).body).to.deep.include({ challenger: { batch_id: 'chal', switched_at: '2025-03-02T02:00:00.000Z', canary_share: 0.3 } });

      // The challenger withdrawn: everyone is back on the champion at the next pointer read.
      await db.collection<StateDocument>(STATE).deleteOne({ _id: 'challenger' });
      const after = await get<Answer>(`/users/${expectedChallenger[0]}/recommendations`);
      expect(after.body.arm).to.equal('champion');
      expect((await get('/health')).body).to.not.have.property('challenger');
    });
  });
});
