import { expect } from 'chai';
import { validate } from '../../activities/ingest/validate.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../simulator/server.js';
import { FAVORITE_GENRES, GENDERS, NAIVE_TIMESTAMP } from '../../sources/contract.js';
import { SOURCES } from '../../sources/index.js';
import { SOURCE_NAMES } from '../../contracts/names.js';

// One test per rule of ../shared/docs/moovitamix-api.md, against a running simulator.

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function start(options: SimulatorOptions = {}): Promise<{ sim: Simulator; get: (path: string, init?: RequestInit) => Promise<Answer> }> {
  const sim = createSimulator(options);
  const base = await sim.listen(0);
  const get = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, { redirect: 'manual', ...init });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  return { sim, get };
}

async function readAll(get: (path: string) => Promise<Answer>, path: string, size = 100): Promise<any[]> {
  const first = await get(`${path}?page=1&size=${size}`);
  const items = [...first.json.items];
  for (let page = 2; page <= first.json.pages; page++) items.push(...(await get(`${path}?page=${page}&size=${size}`)).json.items);
  return items;
}

describe('Moovitamix simulator contract', function () {
  let sim: Simulator;
  let get: (path: string, init?: RequestInit) => Promise<Answer>;
  const data: Record<string, any[]> = {};

  before(async () => {
    ({ sim, get } = await start({ seed: 'contract' }));
    for (const name of SOURCE_NAMES) data[name] = await readAll(get, `/${name}`);
  });
  after(() => sim.close());

  describe('endpoints', () => {
    for (const name of SOURCE_NAMES) {
      it(`GET /${name} answers 200 with a JSON page {items, total, page, size, pages}`, async () => {
        const r = await get(`/${name}`);
        expect(r.status).to.equal(200);
        expect(r.headers.get('content-type')).to.equal('application/json');
        expect(Object.keys(r.json)).to.deep.equal(['items', 'total', 'page', 'size', 'pages']);
      });
    }

    it('GET / redirects with 307 to /docs', async () => {
      const r = await get('/');
      expect(r.status).to.equal(307);
      expect(r.headers.get('location')).to.equal('/docs');
    });

    it('GET /docs is an HTML page and GET /openapi.json the schema of the three endpoints', async () => {
      const docs = await get('/docs');
      expect(docs.status).to.equal(200);
      expect(docs.headers.get('content-type')).to.match(/^text\/html/);
      const spec = await get('/openapi.json');
      expect(spec.status).to.equal(200);
      expect(spec.json.info).to.deep.equal({ title: 'MooVitamix', version: '1.1' });
      expect(Object.keys(spec.json.paths)).to.deep.equal(['/tracks', '/users', '/listen_history']);
      const params = spec.json.paths['/tracks'].get.parameters;
      expect(params.map((p: { name: string }) => p.name)).to.deep.equal(['page', 'size']);
      expect(params[1].schema).to.include({ minimum: 1, maximum: 100, default: 100 });
    });

    it('answers FastAPI-style 404 and 405 for other paths and methods', async () => {
      const missing = await get('/songs');
      expect(missing.status).to.equal(404);
      expect(missing.json).to.deep.equal({ detail: 'Not Found' });
      const post = await get('/tracks', { method: 'POST' });
      expect(post.status).to.equal(405);
      expect(post.json).to.deep.equal({ detail: 'Method Not Allowed' });
    });

    it('redirects a trailing slash with 307, keeping the query, as Starlette does', async () => {
      const r = await get('/tracks/?page=2');
      expect(r.status).to.equal(307);
      expect(r.headers.get('location')).to.equal('/tracks?page=2');
    });
  });

  describe('pagination', () => {
    it('defaults to page 1 and size 100', async () => {
      const r = await get('/tracks');
      expect(r.json).to.include({ page: 1, size: 100, total: 1000, pages: 10 });
      expect(r.json.items).to.have.length(100);
      expect(r.json.items).to.deep.equal(data.tracks?.slice(0, 100));
    });

    it('pages = ceil(total / size), and the last page holds the remainder', async () => {
      for (const size of [1, 7, 33, 100]) {
        const r = await get(`/users?size=${size}`);
        expect(r.json.pages, `size ${size}`).to.equal(Math.ceil(1000 / size));
      }
      const last = await get('/users?size=7&page=143');
      expect(last.json.items).to.have.length(1000 % 7);
      expect(last.json.items).to.deep.equal(data.users?.slice(142 * 7));
    });

    it('a page past the last one is a 200 with no items and the same total and pages', async () => {
      for (const page of ['11', '5000', '99999999999999999999999']) {
        const r = await get(`/listen_history?page=${page}`);
        expect(r.status).to.equal(200);
        expect(r.json.items).to.deep.equal([]);
        expect(r.json).to.include({ total: 1000, size: 100, pages: 10 });
        expect(r.text, 'the page number is echoed exactly').to.include(`"page":${page}`);
      }
    });

    it('paging through every page yields each record exactly once, total of them', () => {
      for (const name of SOURCE_NAMES) {
        const key = name === 'listen_history' ? 'user_id' : 'id';
        const ids = (data[name] ?? []).map((r) => r[key]);
        expect(ids, name).to.have.length(1000);
        expect(new Set(ids).size, name).to.equal(1000);
      }
    });

    const invalid: [string, string, string, string][] = [
      ['page=0', 'page', 'greater_than_equal', 'Input should be greater than or equal to 1'],
      ['page=-3', 'page', 'greater_than_equal', 'Input should be greater than or equal to 1'],
      ['size=0', 'size', 'greater_than_equal', 'Input should be greater than or equal to 1'],
      ['size=101', 'size', 'less_than_equal', 'Input should be less than or equal to 100'],
      ['size=abc', 'size', 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
      ['page=1.5', 'page', 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
      ['size=', 'size', 'int_parsing', 'Input should be a valid integer, unable to parse string as an integer'],
    ];
    for (const [query, loc, type, msg] of invalid) {
      it(`${query} answers 422 with FastAPI's error body`, async () => {
        const r = await get(`/tracks?${query}`);
        expect(r.status).to.equal(422);
        expect(r.json.detail).to.have.length(1);
        expect(r.json.detail[0]).to.include({ type, msg });
        expect(r.json.detail[0].loc).to.deep.equal(['query', loc]);
      });
    }

    it('reports every bad parameter at once, page first', async () => {
      const r = await get('/users?page=0&size=500');
      expect(r.status).to.equal(422);
      expect(r.json.detail.map((d: { loc: string[] }) => d.loc[1])).to.deep.equal(['page', 'size']);
    });

    it('reads integers as FastAPI does: spaces, a sign, a zero fraction; the last repeated value wins; unknown parameters are ignored', async () => {
      expect((await get('/tracks?size=%2010%20')).json.size).to.equal(10);
      expect((await get('/tracks?size=%2B10')).json.size).to.equal(10);
      expect((await get('/tracks?size=10.0')).json.size).to.equal(10);
      expect((await get('/tracks?size=5&size=7')).json.size).to.equal(7);
      expect((await get('/tracks?sort=id&updated_since=2024-01-01')).json).to.include({ page: 1, size: 100, total: 1000 });
    });
  });

  describe('data', () => {
    it('holds 1,000 tracks, 1,000 users and 1,000 listen-history rows by default', () => {
      for (const name of SOURCE_NAMES) expect(data[name], name).to.have.length(1000);
    });

    it('tracks: fields and types of the contract; ids unique in 1..100000', () => {
      for (const t of data.tracks ?? []) {
        expect(Object.keys(t).sort()).to.deep.equal(['album', 'artist', 'created_at', 'duration', 'genres', 'id', 'name', 'songwriters', 'updated_at']);
        expect(Number.isInteger(t.id) && t.id >= 1 && t.id <= 100_000, `id ${t.id}`).to.equal(true);
        for (const f of ['name', 'artist', 'album', 'songwriters', 'genres']) expect(t[f]).to.be.a('string').and.not.equal('');
        expect(t.duration).to.match(/^[0-5]\d:[0-5]\d$/);
        expect(t.created_at).to.match(NAIVE_TIMESTAMP);
        expect(t.updated_at).to.match(NAIVE_TIMESTAMP);
      }
    });

    it('tracks: genres is one free word, not taken from the favourite-genre list', () => {
      const genres = new Set((data.tracks ?? []).map((t) => t.genres as string));
      for (const g of genres) expect(g).to.match(/^\S+$/);
      expect([...genres].some((g) => !(FAVORITE_GENRES as readonly string[]).includes(g))).to.equal(true);
    });

    it('tracks and users: created_at and updated_at are drawn independently (updated_at can be earlier)', () => {
      for (const name of ['tracks', 'users']) {
        const earlier = (data[name] ?? []).filter((r) => r.updated_at < r.created_at).length;
        expect(earlier, name).to.be.greaterThan(100).and.lessThan(900);
      }
    });

    it('users: fields of the contract, gender and favorite_genres from their value sets', () => {
      for (const u of data.users ?? []) {
        expect(Object.keys(u).sort()).to.deep.equal(['created_at', 'email', 'favorite_genres', 'first_name', 'gender', 'id', 'last_name', 'updated_at']);
        expect(Number.isInteger(u.id) && u.id >= 1 && u.id <= 100_000).to.equal(true);
        expect(GENDERS as readonly string[]).to.include(u.gender);
        expect(FAVORITE_GENRES as readonly string[]).to.include(u.favorite_genres);
        expect(u.email).to.match(/^[^@\s]+@[^@\s]+$/);
      }
      const emails = (data.users ?? []).map((u) => u.email);
      expect(new Set(emails).size, 'emails are not guaranteed unique').to.be.lessThan(emails.length);
    });

    it('listen history: one row per user, 5 distinct track ids from the tracks, updated_at >= created_at', () => {
      const userIds = new Set((data.users ?? []).map((u) => u.id));
      const trackIds = new Set((data.tracks ?? []).map((t) => t.id));
      const rows = data.listen_history ?? [];
      expect(new Set(rows.map((r) => r.user_id))).to.deep.equal(userIds);
      for (const r of rows) {
        expect(Object.keys(r).sort()).to.deep.equal(['created_at', 'items', 'updated_at', 'user_id']);
        expect(r.items).to.have.length(5);
        expect(new Set(r.items).size).to.equal(5);
        for (const item of r.items) expect(trackIds.has(item), `track ${item}`).to.equal(true);
        expect(r.updated_at >= r.created_at, `${r.updated_at} >= ${r.created_at}`).to.equal(true);
      }
    });

    it('is served in generation order, not sorted by id', () => {
      for (const name of ['tracks', 'users'] as const) {
        const ids = (data[name] ?? []).map((r) => r.id as number);
        expect(ids, name).not.to.deep.equal([...ids].sort((a, b) => a - b));
      }
    });

    it('draws user ids and track ids independently: a number can be both', async () => {
      const { sim: big } = await start({ seed: 'overlap', tracks: 20_000, users: 20_000 });
      try {
        const trackIds = new Set(big.dataset.records.tracks.map((t) => JSON.parse(t).id));
        const shared = big.dataset.records.users.filter((u) => trackIds.has(JSON.parse(u).id)).length;
        expect(shared).to.be.greaterThan(0);
      } finally {
        await big.close();
      }
    });
  });

  describe('datasets', () => {
    it('every start without --seed serves a completely new dataset', async () => {
      const a = await start();
      const b = await start();
      try {
        const idsA = new Set((await a.get('/tracks?size=100')).json.items.map((t: { id: number }) => t.id));
        const idsB = (await b.get('/tracks?size=100')).json.items.map((t: { id: number }) => t.id);
        expect(idsB.filter((id: number) => idsA.has(id)).length).to.be.lessThan(10);
      } finally {
        await a.sim.close();
        await b.sim.close();
      }
    });

    it('the same --seed reproduces a dataset exactly; another seed does not', async () => {
      const again = await start({ seed: 'contract' });
      const other = await start({ seed: 'other' });
      try {
        expect(await readAll(again.get, '/listen_history')).to.deep.equal(data.listen_history);
        expect((await other.get('/users')).json.items).not.to.deep.equal(data.users?.slice(0, 100));
      } finally {
        await again.sim.close();
        await other.sim.close();
      }
    });

    it('--count and per-endpoint counts scale the data, ids staying unique past 100,000', async () => {
      const { sim: small, get: getSmall } = await start({ seed: 's', tracks: 10, users: 20, listenHistory: 15 });
      try {
        expect((await getSmall('/tracks')).json).to.include({ total: 10, pages: 1 });
        expect((await getSmall('/users?size=7')).json).to.include({ total: 20, pages: 3 });
        expect((await getSmall('/listen_history')).json).to.include({ total: 15 });
      } finally {
        await small.close();
      }
      const { sim: large } = await start({ seed: 's', tracks: 150_000, users: 5, listenHistory: 0 });
      try {
        const ids = large.dataset.records.tracks.map((t) => JSON.parse(t).id as number);
        expect(new Set(ids).size).to.equal(150_000);
        expect(ids.reduce((a, b) => Math.max(a, b), 0)).to.be.greaterThan(100_000);
      } finally {
        await large.close();
      }
    });
  });

  describe('taste mode (--taste)', () => {
    const taste: Record<string, any[]> = {};
    let tasteSim: Simulator;

    before(async () => {
      const started = await start({ seed: 'contract', taste: true });
      tasteSim = started.sim;
      for (const name of SOURCE_NAMES) taste[name] = await readAll(started.get, `/${name}`);
    });
    after(() => tasteSim.close());

    it('serves records that all pass the ingest validators, with the same ids as the default mode', () => {
      for (const name of SOURCE_NAMES) {
        expect(taste[name], name).to.have.length(1000);
        for (const record of taste[name] ?? []) expect(validate(SOURCES[name], record), `${name} ${JSON.stringify(record)}`).to.deep.equal([]);
      }
      expect((taste.tracks ?? []).map((t) => t.id)).to.deep.equal((data.tracks ?? []).map((t) => t.id));
      expect((taste.users ?? []).map((u) => u.id)).to.deep.equal((data.users ?? []).map((u) => u.id));
      for (const u of taste.users ?? []) expect(FAVORITE_GENRES as readonly string[]).to.include(u.favorite_genres);
      for (const t of taste.tracks ?? []) expect(t.genres).to.match(/^\S+$/);
    });

    it('holds 5 distinct known tracks per row, oldest first as the generator drew them', () => {
      const trackIds = (taste.tracks ?? []).map((t) => t.id as number);
      const known = new Set(trackIds);
      const truth = tasteSim.dataset.taste;
      expect(truth, 'the generator behind the data').not.to.equal(undefined);
      (taste.listen_history ?? []).forEach((row, u) => {
        expect(row.items).to.have.length(5);
        expect(new Set(row.items).size).to.equal(5);
        for (const item of row.items) expect(known.has(item), `track ${item}`).to.equal(true);
        // Listens in time order: the generator's order, each drawn after (and from the taste of) the ones before.
        const drawn = Array.from(truth!.items.subarray(truth!.offsets[u], truth!.offsets[u + 1])).map((i) => trackIds[i]);
        expect(row.items).to.deep.equal(drawn);
        expect(row.updated_at >= row.created_at).to.equal(true);
      });
    });

    it("carries taste a client can see: the last listen's artist and genre were heard before, unlike the default mode", () => {
      // Measured on this seed: artist 36 %, genre 68 % of rows; the default mode 0 % and 4 %.
      const share = (records: Record<string, any[]>, field: 'artist' | 'genres') => {
        const of = new Map((records.tracks ?? []).map((t) => [t.id as number, t[field] as string]));
        const rows = records.listen_history ?? [];
        return rows.filter((r) => r.items.slice(0, -1).some((i: number) => of.get(i) === of.get(r.items[4]))).length / rows.length;
      };
      expect(share(taste, 'artist')).to.be.greaterThan(0.25);
      expect(share(taste, 'genres')).to.be.greaterThan(0.5);
      expect(share(data, 'artist')).to.be.lessThan(0.05);
      expect(share(data, 'genres')).to.be.lessThan(0.1);
    });
  });
});
