import { expect } from 'chai';
import { LiveProfile } from '../../activities/ingest/liveProfile.js';
import { curatedDocumentsOf, decodeFacts, encodeFacts, factsOf, MISSING, NULL, UNEXPECTED } from '../../activities/ingest/recordFacts.js';
import { SOURCES } from '../../sources/index.js';
import { track, user } from '../support/fixtures.js';

// The facts a staging thread works out for each record stand in for the record in the
// merge's live profile: what the checks read must be the same either way.
describe('record facts', () => {
  const history = (userId: unknown, items: unknown[]) => ({ user_id: userId, items, created_at: '2024-01-01T00:00:00', updated_at: '2024-02-01T00:00:00' });

  it('say how each field fares, what the live aggregates count and what the key index keeps; the text form round-trips', () => {
    const odd = user(2, { gender: 'Unspecified', email: '', last_name: null, created_at: '2024-03-05T23:59:00', favorite_genres: 'Polka\ttab' });
    const f = factsOf(SOURCES.users, odd);
    const fields = Object.keys(SOURCES.users.schema.entries);
    expect(f.fields[fields.indexOf('email')]).to.equal(MISSING);
    expect(f.fields[fields.indexOf('last_name')]).to.equal(NULL | MISSING);
    expect(f.fields[fields.indexOf('gender')]).to.equal(UNEXPECTED);
    expect(f.fields[fields.indexOf('favorite_genres')]).to.equal(UNEXPECTED);
    expect(f).to.deep.include({ created: '2024-03-05', genre: 'Polka\ttab', length: null, notIds: [], label: 'Polka\ttab', values: [] });
    expect(new Date(f.newest as number).toISOString()).to.equal('2024-06-01T00:00:00.000Z');
    const text = encodeFacts(f);
    expect(text).to.not.match(/[\t\n]/);
    expect(decodeFacts(text)).to.deep.equal(f);

    const h = factsOf(SOURCES.listen_history, history('x', [1, 'two', 3, null]));
    expect(h).to.deep.include({ created: null, genre: null, length: 4, notIds: [1, 2], values: [1, 3] });
    expect(decodeFacts(encodeFacts(h))).to.deep.equal(h);
  });

  it('give the live profile the records give, sample keys included', () => {
    for (const [name, records] of [
      [
        'users',
        [
          user(1),
          user(2, { email: '', gender: 'Other' }),
          user(3, { favorite_genres: 7 }),
          user(4, { created_at: 'not a date', updated_at: '2025-01-01T00:00:00' }),
        ],
      ],
      ['listen_history', [history(1, [1, 2]), history('u2', []), history(3, ['a', 'b', 4]), history(4, [5])]],
    ] as const) {
      const source = SOURCES[name];
      const [fromRecords, fromFacts] = [new LiveProfile(source), new LiveProfile(source)];
      records.forEach((r, i) => {
        fromRecords.servedFacts(String(i), factsOf(source, r as Record<string, unknown>));
        fromFacts.servedFacts(String(i), decodeFacts(encodeFacts(factsOf(source, r as Record<string, unknown>))));
      });
      fromRecords.liveFacts('9', factsOf(source, records[0] as Record<string, unknown>));
      fromFacts.liveFacts('9', factsOf(source, records[0] as Record<string, unknown>));
      expect(fromFacts.toDocument(), name).to.deep.equal(fromRecords.toDocument());
    }
    const histories = new LiveProfile(SOURCES.listen_history);
    for (const [i, r] of [history(1, [1, 2]), history('u2', []), history(3, ['a', 'b', 4])].entries())
      histories.servedFacts(String(i), factsOf(SOURCES.listen_history, r));
    expect(histories.toDocument()).to.deep.include({
      live: 3,
      history_lengths: { 0: 1, 2: 1, 3: 1 },
      not_ids: { user_id: { count: 1, samples: ['1'] }, items: { count: 2, samples: ['2'] } },
    });
  });

  it('count the curated documents a record becomes, as the sources curate it: the live profile sums them', () => {
    const valid = { tracks: [track(1), track(2)], users: [user(1)], listen_history: [history(1, [3, 4, 5]), history(2, [6]), history(3, [])] };
    for (const name of ['tracks', 'users', 'listen_history'] as const) {
      const source = SOURCES[name];
      const profile = new LiveProfile(source);
      let curated = 0;
      for (const [i, r] of valid[name].entries()) {
        const record = r as Record<string, unknown>;
        expect(curatedDocumentsOf(factsOf(source, record)), `${name} ${i}`).to.equal(source.curate(record).length);
        curated += source.curate(record).length;
        profile.servedFacts(String(i), factsOf(source, record));
      }
      expect(profile.curatedDocuments, name).to.equal(curated);
    }
  });
});
