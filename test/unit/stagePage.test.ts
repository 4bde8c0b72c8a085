import { expect } from 'chai';
import { contentHash } from '../../activities/ingest/canonicalJson.js';
import { stagePage } from '../../activities/ingest/stagePage.js';
import { encodeFacts, factsOf } from '../../activities/ingest/recordFacts.js';
import { decodeRecords, stagedPageId } from '../../stores/staging.js';
import { track } from '../support/fixtures.js';
import { SOURCES } from '../../sources/index.js';

describe('stagePage', () => {
  const ctx = { source: SOURCES.tracks, runId: 'run-1', page: 4, now: new Date('2026-11-23T00:00:00Z') };

  it('stages the valid records in page order, each with its key and content hash', () => {
    const { staged, quarantined } = stagePage(ctx, { items: [track(7), track(3)], total: 250 });
    expect(quarantined).to.deep.equal([]);
    expect(staged).to.include({ _id: 'tracks/run-1/4', page: 4, total: 250, fetched: 2, invalid: 0, keylessInvalid: 0 });
    expect(decodeRecords(staged)).to.deep.equal([
      ['7', contentHash(track(7)), encodeFacts(factsOf(SOURCES.tracks, track(7))), JSON.stringify(track(7))],
      ['3', contentHash(track(3)), encodeFacts(factsOf(SOURCES.tracks, track(3))), JSON.stringify(track(3))],
    ]);
  });

  it('quarantines invalid records with their reasons, telling keyed from keyless ones', () => {
    const items = [track(1), { ...track(2), duration: 'long' }, { ...track(0), id: null }, 'junk'];
    const { staged, quarantined } = stagePage(ctx, { items, total: 4 });
    expect(staged).to.include({ fetched: 4, invalid: 3, keylessInvalid: 2 });
    expect(staged.invalidKeys, 'an invalid record with a readable id still names its key').to.deep.equal(['2']);
    expect(decodeRecords(staged).map(([key]) => key)).to.deep.equal(['1']);
    expect(quarantined.map((q) => [q._id, q.reason, q.key, q.index])).to.deep.equal([
      ['run-1:tracks:4:1', 'invalid', '2', 1],
      ['run-1:tracks:4:2', 'invalid', null, 2],
      ['run-1:tracks:4:3', 'invalid', null, 3],
    ]);
    expect(quarantined[0]?.issues).to.deep.equal([{ path: 'duration', message: 'must be MM:SS (received "long")' }]);
    expect(JSON.parse(quarantined[1]?.record_json ?? '')).to.deep.equal(items[2]);
  });

  it('counts schema drift: unknown fields added, contract fields missing', () => {
    const { name: _n, ...noName } = track(3);
    const { staged } = stagePage(ctx, { items: [track(1, { bpm: 120 }), track(2, { bpm: 90, explicit: true }), noName], total: 3 });
    expect(staged.drift).to.deep.equal({ added: { bpm: 2, explicit: 1 }, missing: { name: 1 } });
    expect(JSON.parse(decodeRecords(staged)[1]?.[3] ?? ''), 'unknown fields are kept').to.deep.equal(track(2, { bpm: 90, explicit: true }));
  });

  it('stores a page with no valid record as an empty list, and record text with tabs and newlines escaped by JSON', () => {
    const empty = stagePage(ctx, { items: ['junk'], total: 1 }).staged;
    expect(decodeRecords(empty)).to.deep.equal([]);
    const odd = track(9, { name: 'a\tb\nc' });
    const { staged } = stagePage(ctx, { items: [odd], total: 1 });
    expect(JSON.parse(decodeRecords(staged)[0]?.[3] ?? '')).to.deep.equal(odd);
  });

  it('digests what a page staged: the same records give the same digest whatever the run, page or total; any difference another', () => {
    const digest = (items: unknown[], context = ctx, total = 2) => stagePage(context, { items, total }).staged.digest;
    const same = digest([track(7), track(3)]);
    expect(same).to.match(/^[0-9a-f]{32}$/);
    expect(digest([track(7), track(3)], { ...ctx, runId: 'run-2', page: 9, now: new Date() }, 500)).to.equal(same);
    expect(digest([track(3), track(7)]), 'order').to.not.equal(same);
    expect(digest([track(7), track(3, { name: 'Other' })]), 'a field').to.not.equal(same);
    expect(digest([track(7)]), 'a record fewer').to.not.equal(same);
    expect(digest([track(7), { ...track(3), duration: 'long' }]), 'an invalid record').to.not.equal(digest([track(7), { ...track(4), duration: 'long' }]));
    expect(digest([track(7), 'junk']), 'a keyless invalid record').to.not.equal(digest([track(7)]));
  });

  it('keys a staged page by source, run and page', () => {
    const { staged } = stagePage({ ...ctx, page: 7 }, { items: [track(1)], total: 1 });
    expect(staged).to.include({ _id: `tracks/${ctx.runId}/7`, source: 'tracks', run_id: ctx.runId, page: 7 });
    expect(stagedPageId('listen_history', '01a2061c-45b3-763e', 12)).to.equal('listen_history/01a2061c-45b3-763e/12');
  });
});
