import { expect } from 'chai';
import { validate } from '../../activities/ingest/validate.js';
import { parseNaiveTimestamp } from '../../sources/contract.js';
import { SOURCES } from '../../sources/index.js';

const track = {
  id: 42,
  name: 'Amber Tide',
  artist: 'Mia Novak',
  songwriters: 'Leo Park',
  duration: '37:19',
  genres: 'ember',
  album: 'Glass Moon',
  created_at: '2021-03-04T05:06:07',
  updated_at: '2020-01-01T00:00:00',
};
const user = {
  id: 7,
  first_name: 'Ada',
  last_name: 'Silva',
  email: 'ada.silva@example.com',
  gender: 'Female',
  favorite_genres: 'Jazz',
  created_at: '2022-01-01T10:00:00',
  updated_at: '2023-01-01T10:00:00',
};
const history = { user_id: 7, items: [42, 1, 2, 3, 4], created_at: '2022-01-01T10:00:00', updated_at: '2022-02-01T10:00:00' };

const issuesOf = (source: keyof typeof SOURCES, record: unknown) => validate(SOURCES[source], record);
const paths = (source: keyof typeof SOURCES, record: unknown) => issuesOf(source, record).map((i) => i.path);

describe('record schemas', () => {
  it('accept records that follow the contract, updated_at before created_at included', () => {
    expect(issuesOf('tracks', track)).to.deep.equal([]);
    expect(issuesOf('users', user)).to.deep.equal([]);
    expect(issuesOf('listen_history', history)).to.deep.equal([]);
  });

  it('reject a missing, null, string, fractional, zero or negative id', () => {
    const { id: _id, ...noId } = track;
    expect(paths('tracks', noId)).to.deep.equal(['id']);
    for (const id of [null, '42', 4.2, 0, -3]) expect(paths('tracks', { ...track, id }), String(id)).to.deep.equal(['id']);
    expect(paths('listen_history', { ...history, user_id: null })).to.deep.equal(['user_id']);
  });

  it('reject wrong types and say which field and what was received', () => {
    const issues = issuesOf('users', { ...user, first_name: 12, email: null });
    expect(issues.map((i) => i.path)).to.deep.equal(['first_name', 'email']);
    expect(issues[0]?.message).to.match(/must be a string/);
    expect(issues[0]?.message).to.match(/received 12/);
  });

  it('reject timestamps that are not naive ISO 8601 or not real instants', () => {
    for (const created_at of ['2021-03-04 05:06:07', '2021-03-04T05:06:07Z', '2021-03-04T05:06:07.123', '2021-02-30T00:00:00', '2021-03-04']) {
      expect(paths('tracks', { ...track, created_at }), created_at).to.deep.equal(['created_at']);
    }
  });

  it('reject a duration that is not MM:SS', () => {
    for (const duration of ['3:19', '37:60', '1:02:03', 219]) expect(paths('tracks', { ...track, duration }), String(duration)).to.deep.equal(['duration']);
  });

  it('reject items that are null, not an array, or hold something other than track ids', () => {
    expect(paths('listen_history', { ...history, items: null })).to.deep.equal(['items']);
    expect(paths('listen_history', { ...history, items: '1,2,3' })).to.deep.equal(['items']);
    expect(paths('listen_history', { ...history, items: [1, '2', 3] })).to.deep.equal(['items.1']);
    expect(paths('listen_history', { ...history, items: [1, 2.5] })).to.deep.equal(['items.1']);
  });

  it('turn a record that is not an object into issues, never a crash', () => {
    for (const bad of [null, 42, 'x', [track]]) expect(issuesOf('tracks', bad).length, JSON.stringify(bad)).to.be.greaterThan(0);
  });

  it('keep unknown fields (schema drift is reported, not dropped)', () => {
    expect(issuesOf('tracks', { ...track, explicit: true, bpm: 120 })).to.deep.equal([]);
  });

  it('reject field names MongoDB cannot store', () => {
    expect(paths('tracks', { ...track, $where: 'x' })).to.deep.equal(['$where']);
    expect(paths('tracks', { ...track, 'a.b': 1 })).to.deep.equal(['a.b']);
    expect(paths('tracks', { ...track, '': 1 })).to.deep.equal(['']);
  });

  it('reject unstorable content at any depth of an unknown field, and arrays inside arrays', () => {
    expect(paths('tracks', { ...track, meta: { $x: 1 } })).to.deep.equal(['meta.$x']);
    expect(paths('tracks', { ...track, meta: { deep: { 'a.b': 1 } } })).to.deep.equal(['meta.deep.a.b']);
    expect(paths('tracks', { ...track, tags: [{ ok: 1 }, { $bad: 2 }] })).to.deep.equal(['tags.1.$bad']);
    expect(paths('tracks', { ...track, grid: [[1, 2], [3]] })).to.deep.equal(['grid.0', 'grid.1']);
  });

  it('accept nested unknown fields that can be stored', () => {
    expect(issuesOf('tracks', { ...track, meta: { label: 'x', credits: [{ name: 'a', roles: ['mix'] }] } })).to.deep.equal([]);
  });

  it('do not enforce value sets: an unexpected gender is a data-quality finding, not a reason to quarantine', () => {
    expect(issuesOf('users', { ...user, gender: 'Unknown', favorite_genres: 'Polka' })).to.deep.equal([]);
  });
});

describe('parseNaiveTimestamp', () => {
  it('reads the naive timestamp as UTC', () => {
    expect(parseNaiveTimestamp('2021-03-04T05:06:07')?.toISOString()).to.equal('2021-03-04T05:06:07.000Z');
  });

  it('returns null for impossible instants', () => {
    expect(parseNaiveTimestamp('2021-02-29T00:00:00')).to.equal(null);
    expect(parseNaiveTimestamp('2021-01-01T24:00:00')).to.equal(null);
  });
});
