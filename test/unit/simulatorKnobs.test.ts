import { expect } from 'chai';
import { generateDataset } from '../../simulator/dataset.js';
import { applyKnobs, mutateDataset, parseMutation } from '../../simulator/knobs.js';
import { SOURCES } from '../../sources/index.js';
import { validate } from '../../activities/ingest/validate.js';
import { SOURCE_NAMES } from '../../contracts/names.js';

const dataset = () => generateDataset({ seed: 'knobs', tracks: 1000, users: 1000, listenHistory: 1000 });

describe('simulator knobs', () => {
  it('serve exactly the reported records invalid, each breaking the contract', () => {
    const { served, report } = applyKnobs(dataset(), { invalidRate: 0.05 }, 'knobs');
    for (const name of SOURCE_NAMES) {
      const invalid = served[name]
        .map((r, i) => [i, validate(SOURCES[name], JSON.parse(r)).length > 0] as const)
        .filter(([, bad]) => bad)
        .map(([i]) => i);
      expect(invalid, name).to.deep.equal(report[name].invalid);
      expect(invalid.length, name).to.be.within(25, 80);
    }
  });

  it('add unknown fields to the reported records and repeat ids on later pages', () => {
    const { served, report } = applyKnobs(dataset(), { extraFieldRate: 0.1, duplicateIds: 3 }, 'knobs');
    const tracks = served.tracks.map((r) => JSON.parse(r));
    expect(report.tracks.extraField.length, 'about a tenth of 1,000 tracks').to.be.within(50, 150);
    for (const i of report.tracks.extraField) expect(Object.keys(tracks[i]).some((k) => k === 'explicit' || k === 'bpm')).to.equal(true);
    expect(report.tracks.duplicates).to.have.length(3);
    for (const [copy, original] of report.tracks.duplicates) {
      expect(copy).to.be.greaterThan(original);
      expect(tracks[copy].id).to.equal(tracks[original].id);
      expect(tracks[copy]).not.to.deep.equal(tracks[original]);
    }
    expect(new Set(tracks.map((t) => t.id)).size).to.equal(997);
  });

  it('mutate a snapshot: x % updated, y % deleted, z % new with unused ids, reproducibly', () => {
    const before = dataset();
    const ids = (d: ReturnType<typeof dataset>) => new Set(d.records.users.map((u) => JSON.parse(u).id as number));
    const old = ids(before);
    const mutated = dataset();
    const report = mutateDataset(mutated, { updated: 5, deleted: 2, added: 3 }, 'm');
    expect(report.users).to.deep.equal({ updated: 50, deleted: 20, added: 30 });
    const now = ids(mutated);
    expect([...old].filter((id) => !now.has(id))).to.have.length(20);
    expect([...now].filter((id) => !old.has(id))).to.have.length(30);
    const changed = mutated.records.users.filter((u) => !before.records.users.includes(u)).length;
    expect(changed, 'updated and added records differ from every old one').to.equal(80);
    expect(mutateDataset(dataset(), { updated: 5, deleted: 2, added: 3 }, 'm')).to.deep.equal(report);
    expect(report.listen_history).to.deep.equal({ updated: 50, deleted: 20, added: 30 });
    const rowUsers = new Set(mutated.records.listen_history.map((h) => JSON.parse(h).user_id as number));
    expect(
      [...now].filter((id) => !old.has(id)).every((id) => rowUsers.has(id)),
      'new rows go to the new users',
    ).to.equal(true);
  });

  it('parse a mutation from the command line and refuse nonsense', () => {
    expect(parseMutation('updated=5,deleted=2,added=3')).to.deep.equal({ updated: 5, deleted: 2, added: 3 });
    expect(parseMutation('deleted=10')).to.deep.equal({ updated: 0, deleted: 10, added: 0 });
    expect(() => parseMutation('renamed=5')).to.throw(/unknown key/);
    expect(() => parseMutation('updated=150')).to.throw(/percentage/);
  });
});
