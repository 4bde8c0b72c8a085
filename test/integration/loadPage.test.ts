import { expect } from 'chai';
import type { Db } from 'mongodb';
import { contentHash } from '../../activities/ingest/canonicalJson.js';
import { QUARANTINE_COLLECTION, loadPage, type QuarantineDocument, type RawDocument } from '../../activities/ingest/loadPage.js';
import { SOURCES, type SourceDescription } from '../../sources/index.js';
import { getTestStack } from '../support/testStack.js';

// loadPage against the real MongoDB-protocol server of the test stack.

const track = (id: number, name = `Track ${id}`) => ({
  id,
  name,
  artist: 'Artist',
  songwriters: 'Writer',
  duration: '03:30',
  genres: 'wave',
  album: 'Album',
  created_at: '2022-01-01T00:00:00',
  updated_at: '2022-06-01T00:00:00',
});

describe('loadPage (real MongoDB-protocol server)', function () {
  this.timeout(120_000);
  let db: Db;
  let source: SourceDescription;
  let n = 0;

  before(async () => {
    const stack = await getTestStack();
    db = (await stack.mongo()).db(stack.mongodbDb);
  });

  beforeEach(() => {
    // A collection of its own per test.
    source = { ...SOURCES.tracks, rawCollection: `raw_tracks_load_${++n}` };
  });

  const raw = () => db.collection<RawDocument>(source.rawCollection);
  const load = (runId: string, page: number, items: unknown[]) => loadPage({ db, source, runId, page, now: new Date() }, items);

  it('inserts new records keyed by a string _id, as received, with hash and run markers', async () => {
    const stats = await load('run-1', 1, [track(5), track(17)]);
    expect(stats).to.deep.equal({ fetched: 2, valid: 2, invalid: 0, inserted: 2, updated: 0, unchanged: 0, duplicates: 0 });
    const doc = await raw().findOne({ _id: '17' });
    expect(doc?.record).to.deep.equal(track(17));
    expect(doc).to.include({ hash: contentHash(track(17)), first_seen_run: 'run-1', last_seen_run: 'run-1', last_seen_page: 1, version_run: 'run-1' });
    expect(await raw().countDocuments()).to.equal(2);
  });

  it('is idempotent: the same page stored again in the same run reports the same counts and writes nothing', async () => {
    const first = await load('run-1', 1, [track(1), track(2), track(3)]);
    const before = await raw().find().sort({ _id: 1 }).toArray();
    const again = await load('run-1', 1, [track(1), track(2), track(3)]);
    expect(again).to.deep.equal(first);
    expect(await raw().find().sort({ _id: 1 }).toArray()).to.deep.equal(before);
  });

  it('in a later run, counts an identical record as unchanged and moves only its last-seen marker', async () => {
    await load('run-1', 1, [track(1)]);
    const before = await raw().findOne({ _id: '1' });
    const stats = await load('run-2', 4, [track(1)]);
    expect(stats).to.include({ unchanged: 1, inserted: 0, updated: 0 });
    const after = await raw().findOne({ _id: '1' });
    expect(after).to.include({ last_seen_run: 'run-2', last_seen_page: 4, first_seen_run: 'run-1', version_run: 'run-1', hash: before?.hash });
    expect(after?.record).to.deep.equal(before?.record);
    expect(after?.version_at).to.deep.equal(before?.version_at);
  });

  it('in a later run, stores a changed record as the new version', async () => {
    await load('run-1', 1, [track(1), track(2)]);
    const stats = await load('run-2', 1, [track(1, 'Renamed'), track(2)]);
    expect(stats).to.include({ updated: 1, unchanged: 1, inserted: 0 });
    const doc = await raw().findOne({ _id: '1' });
    expect(doc?.record.name).to.equal('Renamed');
    expect(doc).to.include({ hash: contentHash(track(1, 'Renamed')), version_run: 'run-2', first_seen_run: 'run-1' });
    const retried = await load('run-2', 1, [track(1, 'Renamed'), track(2)]);
    expect(retried, 'a retried page reports the update again').to.deep.equal(stats);
  });

  it('quarantines invalid records with the reason and the raw record, once, and stores the valid ones', async () => {
    const bad = [{ ...track(9), id: null }, { ...track(10), duration: 'long' }, 'not even an object'];
    const stats = await load('run-q', 3, [track(8), ...bad]);
    expect(stats).to.deep.equal({ fetched: 4, valid: 1, invalid: 3, inserted: 1, updated: 0, unchanged: 0, duplicates: 0 });
    await load('run-q', 3, [track(8), ...bad]);
    const quarantined = await db.collection<QuarantineDocument>(QUARANTINE_COLLECTION).find({ run_id: 'run-q' }).sort({ index: 1 }).toArray();
    expect(quarantined.map((q) => q._id)).to.deep.equal(['run-q:tracks:3:1', 'run-q:tracks:3:2', 'run-q:tracks:3:3']);
    expect(quarantined[0]).to.include({ source: 'tracks', page: 3, index: 1 });
    expect(JSON.parse(quarantined[0]?.record_json ?? '')).to.deep.equal(bad[0]);
    expect(quarantined[0]?.issues).to.deep.equal([{ path: 'id', message: 'must be a number (received null)' }]);
    expect(quarantined[1]?.issues.map((i) => i.path)).to.deep.equal(['duration']);
    expect(quarantined[2]?.record_json).to.equal('"not even an object"');
    expect(await raw().countDocuments()).to.equal(1);
  });

  it('counts the same key twice on one page as a duplicate; the first occurrence wins', async () => {
    const stats = await load('run-d', 1, [track(1, 'First'), track(1, 'Second')]);
    expect(stats).to.include({ valid: 2, inserted: 1, duplicates: 1 });
    expect((await raw().findOne({ _id: '1' }))?.record.name).to.equal('First');
  });

  it('counts the same key on two pages of a run as a duplicate; the lower page wins whatever the order', async () => {
    await load('run-d', 3, [track(1, 'From page 3')]);
    const stats = await load('run-d', 2, [track(1, 'From page 2')]);
    expect(stats).to.include({ duplicates: 1, inserted: 0 });
    const doc = await raw().findOne({ _id: '1' });
    expect(doc?.record.name).to.equal('From page 2');
    expect(doc?.last_seen_page).to.equal(2);
    const later = await load('run-d', 5, [track(1, 'From page 5')]);
    expect(later).to.include({ duplicates: 1 });
    expect((await raw().findOne({ _id: '1' }))?.record.name).to.equal('From page 2');
  });
});
