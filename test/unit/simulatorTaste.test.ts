import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { genreCode } from '../../activities/recommend/inputs.js';
import { stackUpSimulatorArgs } from '../../client/commands/stack.js';
import { UsageError } from '../../config/usageError.js';
import { interactionsFromLists, itemPopularity } from '../../models/interactions.js';
import { fitItemKnn } from '../../models/itemKnn.js';
import { generateDataset } from '../../simulator/dataset.js';
import { parseSimulatorArgs } from '../../simulator/main.js';
import { createSimulator } from '../../simulator/server.js';
import { GENRES_PER_CLUSTER, defaultClusters, generateTaste, tasteListens, type TasteData } from '../../simulator/taste.js';
import { tasteGenreWord } from '../../simulator/tasteRecords.js';
import { FAVORITE_GENRES, ITEMS_PER_HISTORY } from '../../sources/contract.js';

// Taste mode: the pure generator (simulator/taste.ts) and the records the simulator
// builds on it. The structure is asserted with margins well inside what the generator
// gives (measured figures in the comments), far from what uniform data gives.

const digest = (records: readonly string[]) => createHash('sha256').update(records.join('\n')).digest('hex').slice(0, 16);
const listOf = (d: TasteData, u: number) => Array.from(d.items.subarray(d.offsets[u] as number, d.offsets[u + 1] as number));

describe('taste generator', () => {
  // 2,000 users x 2,000 tracks x 20 listens on average: 10 clusters, 250 artists.
  const data = generateTaste({ seed: 'taste-unit', users: 2000, tracks: 2000, listensPerUser: 20 });

  it('gives the same data for a seed and different data for another seed', () => {
    const again = generateTaste({ seed: 'taste-unit', users: 2000, tracks: 2000, listensPerUser: 20 });
    expect(Array.from(again.items)).to.deep.equal(Array.from(data.items));
    expect(Array.from(again.offsets)).to.deep.equal(Array.from(data.offsets));
    expect(Array.from(again.cluster)).to.deep.equal(Array.from(data.cluster));
    expect(Array.from(again.trackArtist)).to.deep.equal(Array.from(data.trackArtist));
    const other = generateTaste({ seed: 'taste-other', users: 2000, tracks: 2000, listensPerUser: 20 });
    const same = data.items.reduce((n, t, k) => n + (other.items[k] === t ? 1 : 0), 0);
    expect(same / data.items.length).to.be.lessThan(0.05);
    expect(Array.from(other.trackArtist)).not.to.deep.equal(Array.from(data.trackArtist));
  });

  it('keeps the first users as they were when more users are asked for', () => {
    const more = generateTaste({ seed: 'taste-unit', users: 2500, tracks: 2000, listensPerUser: 20, fixedLength: false });
    for (const u of [0, 1, 999, 1999]) expect(listOf(more, u), `user ${u}`).to.deep.equal(listOf(data, u));
  });

  it('gives each user distinct tracks, about listensPerUser of them, or exactly that many when fixed', () => {
    expect(data.nUsers).to.equal(2000);
    expect(data.nItems).to.equal(2000);
    const mean = data.items.length / data.nUsers;
    expect(mean).to.be.within(19, 21);
    for (let u = 0; u < data.nUsers; u++) {
      const list = listOf(data, u);
      expect(list.length).to.be.within(10, 30);
      expect(new Set(list).size, `user ${u}`).to.equal(list.length);
      expect(list.every((t) => Number.isInteger(t) && t >= 0 && t < 2000)).to.equal(true);
    }
    const fixed = generateTaste({ seed: 's', users: 300, tracks: 40, listensPerUser: 30, fixedLength: true });
    for (let u = 0; u < 300; u++) expect(new Set(listOf(fixed, u)).size).to.equal(30);
    // Lists never exceed the catalogue: 8 tracks, a mean of 20, every list all 8 tracks at most.
    const small = generateTaste({ seed: 's', users: 50, tracks: 8, listensPerUser: 20 });
    for (let u = 0; u < 50; u++) expect(new Set(listOf(small, u)).size).to.equal(8);
  });

  it('lists the same data as plain arrays in tasteListens', () => {
    const withLists = tasteListens({ seed: 'taste-unit', users: 2000, tracks: 2000, listensPerUser: 20 });
    expect(withLists.lists).to.have.length(2000);
    for (const u of [0, 7, 1999]) expect(withLists.lists[u]).to.deep.equal(listOf(data, u));
  });

  it('builds a catalogue where every track has its artist genre and cluster, and each cluster its artists', () => {
    expect(data.clusters).to.equal(defaultClusters(2000)).and.to.equal(10);
    expect(data.artists).to.equal(250);
    for (let t = 0; t < data.nItems; t++) {
      const a = data.trackArtist[t] as number;
      expect(data.trackGenre[t]).to.equal(data.artistGenre[a]);
      expect(data.trackCluster[t]).to.equal(data.artistCluster[a]);
    }
    expect(new Set(data.artistCluster).size).to.equal(data.clusters);
    expect(new Set(data.trackArtist).size, 'every artist has a track').to.equal(data.artists);
    // Artists mostly play one of their cluster's genres (90 % by construction).
    let fromCluster = 0;
    for (let a = 0; a < data.artists; a++) {
      const c = data.artistCluster[a] as number;
      if (Array.from(data.clusterGenres.subarray(c * GENRES_PER_CLUSTER, (c + 1) * GENRES_PER_CLUSTER)).includes(data.artistGenre[a] as number)) fromCluster++;
    }
    expect(fromCluster / data.artists).to.be.greaterThan(0.8);
  });

  it('scales the clusters with the catalogue, 8 to 20, never more than tracks', () => {
    expect([3, 1000, 4000, 20_000, 100_000, 10_000_000].map(defaultClusters)).to.deep.equal([3, 8, 12, 17, 20, 20]);
    expect(generateTaste({ seed: 's', users: 10, tracks: 100, listensPerUser: 5, clusters: 4 }).clusters).to.equal(4);
  });

  it('gives users of one cluster far more tracks in common than users of different clusters', () => {
    // Measured: 3.35 shared tracks per same-cluster pair, 0.23 otherwise (ratio 14).
    const sets = Array.from({ length: 1000 }, (_, u) => new Set(listOf(data, u)));
    let same = 0;
    let sameN = 0;
    let other = 0;
    let otherN = 0;
    for (let i = 0; i < sets.length; i++) {
      for (let j = i + 1; j < Math.min(sets.length, i + 100); j++) {
        let shared = 0;
        for (const t of sets[i] as Set<number>) if ((sets[j] as Set<number>).has(t)) shared++;
        if (data.cluster[i] === data.cluster[j]) {
          same += shared;
          sameN++;
        } else {
          other += shared;
          otherN++;
        }
      }
    }
    expect(sameN).to.be.greaterThan(1000);
    expect(same / sameN / (other / otherN)).to.be.greaterThan(6);
  });

  it('draws most listens from the user’s cluster, the rest from global popularity', () => {
    let own = 0;
    for (let u = 0; u < data.nUsers; u++) for (const t of listOf(data, u)) if (data.trackCluster[t] === data.cluster[u]) own++;
    // 85 % in taste, plus the global draws that land in the user's cluster: measured 0.868.
    expect(own / data.items.length).to.be.within(0.8, 0.93);
    const looser = generateTaste({ seed: 'taste-unit', users: 2000, tracks: 2000, listensPerUser: 20, inClusterShare: 0.3 });
    let looserOwn = 0;
    for (let u = 0; u < looser.nUsers; u++) for (const t of listOf(looser, u)) if (looser.trackCluster[t] === looser.cluster[u]) looserOwn++;
    expect(looserOwn / looser.items.length).to.be.lessThan(0.5);
  });

  it('has heavy-tailed popularity: the top 1 % of tracks take over 8 % of listens, the top 10 % over 35 %', () => {
    // Measured: 11.2 % and 43.9 % (uniform data: 1 % and 10 %).
    const pop = Array.from(itemPopularity(data)).sort((a, b) => b - a);
    const share = (n: number) => pop.slice(0, n).reduce((a, b) => a + b, 0) / data.items.length;
    expect(share(20)).to.be.greaterThan(0.08);
    expect(share(200)).to.be.greaterThan(0.35);
  });

  it('makes the last listen predictable from the earlier ones: its artist and genre were heard before', () => {
    // Measured: the artist for 55 % of users, the genre for 86 %; a random track's artist for 4 %.
    let artist = 0;
    let genre = 0;
    let chance = 0;
    for (let u = 0; u < data.nUsers; u++) {
      const list = listOf(data, u);
      const last = list.pop() as number;
      const artists = new Set(list.map((t) => data.trackArtist[t]));
      if (artists.has(data.trackArtist[last])) artist++;
      if (list.some((t) => data.trackGenre[t] === data.trackGenre[last])) genre++;
      if (artists.has(data.trackArtist[(u * 7919) % data.nItems])) chance++;
    }
    expect(artist / data.nUsers).to.be.greaterThan(0.4);
    expect(genre / data.nUsers).to.be.greaterThan(0.75);
    expect(chance / data.nUsers).to.be.lessThan(0.1);
  });

  it('gives most users a favourite genre their cluster prefers', () => {
    // 85 % by construction, plus chance; measured 0.87.
    let fromCluster = 0;
    for (let u = 0; u < data.nUsers; u++) {
      const c = data.cluster[u] as number;
      if (Array.from(data.clusterGenres.subarray(c * GENRES_PER_CLUSTER, (c + 1) * GENRES_PER_CLUSTER)).includes(data.userGenre[u] as number)) fromCluster++;
    }
    expect(fromCluster / data.nUsers).to.be.within(0.8, 0.95);
  });

  it('lets a personal model beat the most popular tracks at predicting the last listen', () => {
    // Leave the last listen out; hit@10. Measured: item-kNN 0.20, most popular 0.05 (20,000 x 5,000 x 20).
    const d = tasteListens({ seed: 'taste-knn', users: 3000, tracks: 1000, listensPerUser: 10 });
    const train = d.lists.map((l) => l.slice(0, -1));
    const last = d.lists.map((l) => l[l.length - 1] as number);
    const m = interactionsFromLists(train, d.nItems);
    const pop = itemPopularity(m);
    const model = fitItemKnn(
      m,
      Float64Array.from({ length: d.nItems }, (_, i) => i + 1),
      { neighbors: 50 },
    );
    const byPopularity = Array.from({ length: d.nItems }, (_, i) => i).sort((a, b) => (pop[b] as number) - (pop[a] as number) || a - b);
    let popularHits = 0;
    let knnHits = 0;
    const score = new Float64Array(d.nItems);
    train.forEach((heard, u) => {
      const seen = new Set(heard);
      if (
        byPopularity
          .filter((i) => !seen.has(i))
          .slice(0, 10)
          .includes(last[u] as number)
      )
        popularHits++;
      score.fill(0);
      for (const i of heard) {
        for (let p = model.neighborOffsets![i] as number; p < (model.neighborOffsets![i + 1] as number); p++)
          score[model.neighbors![p] as number]! += model.similarities![p] as number;
      }
      const top = byPopularity
        .filter((i) => !seen.has(i))
        .sort((a, b) => (score[b] as number) - (score[a] as number))
        .slice(0, 10);
      if (top.includes(last[u] as number)) knnHits++;
    });
    expect(knnHits).to.be.greaterThan(1.5 * popularHits);
    expect(popularHits / train.length, 'most popular is a real baseline').to.be.greaterThan(0.02);
  });

  it('generates 100,000 users x 20,000 tracks x 50 listens in seconds', function () {
    this.timeout(60_000);
    const started = performance.now();
    const big = generateTaste({ seed: 'scale', users: 100_000, tracks: 20_000, listensPerUser: 50 });
    const ms = performance.now() - started;
    // About 1.2 s on an idle core; the bound leaves room for a busy machine.
    expect(ms).to.be.lessThan(15_000);
    expect(big.items.length / big.nUsers).to.be.within(49, 51);
    expect(big.clusters).to.equal(17);
  });

  it('refuses options it cannot honour, with the option named', () => {
    const ok = { seed: 's', users: 10, tracks: 100, listensPerUser: 5 };
    expect(() => generateTaste({ ...ok, users: -1 })).to.throw(RangeError, /users/);
    expect(() => generateTaste({ ...ok, tracks: 1.5 })).to.throw(RangeError, /tracks/);
    expect(() => generateTaste({ ...ok, listensPerUser: 0 })).to.throw(RangeError, /listensPerUser/);
    expect(() => generateTaste({ ...ok, listensPerUser: 2.5, fixedLength: true })).to.throw(RangeError, /whole number/);
    expect(() => generateTaste({ ...ok, clusters: 0 })).to.throw(RangeError, /clusters/);
    expect(() => generateTaste({ ...ok, clusters: 101 })).to.throw(RangeError, /clusters/);
    expect(() => generateTaste({ ...ok, inClusterShare: 1.2 })).to.throw(RangeError, /inClusterShare/);
    expect(() => generateTaste({ ...ok, zipfExponent: -1 })).to.throw(RangeError, /zipfExponent/);
    expect(generateTaste({ ...ok, users: 3, tracks: 0 }).items).to.have.length(0);
  });
});

describe('simulator datasets in taste mode', () => {
  const options = { seed: 'taste-records', tracks: 400, users: 300, listenHistory: 250 };

  it('leave the default mode as it was for a seed (recorded digests)', () => {
    // Recorded before taste mode existed; a change here breaks every test that relies on a seed.
    const d = generateDataset({ seed: 'digest', tracks: 300, users: 200, listenHistory: 150 });
    expect([digest(d.records.tracks), digest(d.records.users), digest(d.records.listen_history)]).to.deep.equal([
      '8d3a828d8ef06ed1',
      '8102a7f3c760634c',
      '6952f83b3e10b9e0',
    ]);
    expect(d.taste).to.equal(undefined);
    const sim = createSimulator({ seed: 'digest-knobs', tracks: 200, users: 200, invalidRate: 0.05, mutation: { updated: 5, deleted: 2, added: 3 } });
    expect([digest(sim.served('tracks')), digest(sim.served('users')), digest(sim.served('listen_history'))]).to.deep.equal([
      '55e7138dd1e10f1b',
      '1f2d76ec9a9375d2',
      '213ba1492a057d6d',
    ]);
  });

  it('change only the fields that carry taste: ids, names and timestamps stay those of the default mode', () => {
    const plain = generateDataset(options);
    const taste = generateDataset({ ...options, taste: true });
    const parse = (records: string[]) => records.map((r) => JSON.parse(r) as Record<string, unknown>);
    const without = (records: Record<string, unknown>[], ...fields: string[]) =>
      records.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !fields.includes(k))));
    expect(without(parse(taste.records.tracks), 'artist', 'genres')).to.deep.equal(without(parse(plain.records.tracks), 'artist', 'genres'));
    expect(without(parse(taste.records.users), 'favorite_genres')).to.deep.equal(without(parse(plain.records.users), 'favorite_genres'));
    expect(without(parse(taste.records.listen_history), 'items')).to.deep.equal(without(parse(plain.records.listen_history), 'items'));
    expect(taste.records.listen_history).not.to.deep.equal(plain.records.listen_history);
    // Keys keep the contract's order.
    expect(Object.keys(parse(taste.records.tracks)[0] as object)).to.deep.equal(Object.keys(parse(plain.records.tracks)[0] as object));
  });

  it('serve what the pure generator gives for the same seed and sizes', () => {
    const d = generateDataset({ ...options, taste: true, tasteClusters: 9 });
    const pure = tasteListens({ seed: options.seed, users: 300, tracks: 400, listensPerUser: ITEMS_PER_HISTORY, fixedLength: true, clusters: 9 });
    const tracks = d.records.tracks.map((t) => JSON.parse(t) as { id: number; artist: string; genres: string });
    const users = d.records.users.map((u) => JSON.parse(u) as { favorite_genres: string });
    const rows = d.records.listen_history.map((h) => JSON.parse(h) as { items: number[] });
    expect(d.taste?.clusters).to.equal(9);
    expect(rows).to.have.length(250);
    rows.forEach((row, u) => expect(row.items, `user ${u}`).to.deep.equal((pure.lists[u] as number[]).map((i) => (tracks[i] as { id: number }).id)));
    users.forEach((user, u) => expect(user.favorite_genres).to.equal(FAVORITE_GENRES[pure.userGenre[u] as number]));
    tracks.forEach((track, i) => expect(track.genres).to.equal(tasteGenreWord(pure.trackGenre[i] as number)));
    // One name per artist: the artist field identifies the generator's artist.
    const names = new Map<number, string>();
    tracks.forEach((track, i) => {
      const a = pure.trackArtist[i] as number;
      expect(names.get(a) ?? track.artist, `artist ${a}`).to.equal(track.artist);
      names.set(a, track.artist);
    });
    expect(new Set(names.values()).size).to.equal(pure.artists);
  });

  it('write track genres as one free word that reads as the favourite genre', () => {
    expect(FAVORITE_GENRES.map((_, g) => tasteGenreWord(g))).to.include.members(['rock', 'hiphop', 'r&b', 'electronic']);
    FAVORITE_GENRES.forEach((name, g) => {
      expect(tasteGenreWord(g)).to.match(/^\S+$/);
      expect(FAVORITE_GENRES as readonly string[]).not.to.include(tasteGenreWord(g));
      expect(genreCode(tasteGenreWord(g)), name)
        .to.equal(genreCode(name))
        .and.to.be.greaterThan(0);
    });
  });
});

describe('taste mode options', () => {
  it('--taste and --taste-clusters reach the simulator options; without them nothing changes', () => {
    expect(parseSimulatorArgs(['--seed', 's', '--taste', '--taste-clusters', '12']).options).to.include({ seed: 's', taste: true, tasteClusters: 12 });
    expect(parseSimulatorArgs(['--taste']).options).to.include({ taste: true });
    expect(parseSimulatorArgs(['--seed', 's']).options).not.to.have.property('taste');
    expect(() => parseSimulatorArgs(['--taste-clusters', '12'])).to.throw(UsageError, /needs --taste/);
    expect(() => parseSimulatorArgs(['--taste', '--taste-clusters', 'x'])).to.throw(UsageError, /taste-clusters/);
  });

  it('a simulator started with taste: true serves taste data; tasteClusters out of range is refused', () => {
    const sim = createSimulator({ seed: 's', tracks: 100, users: 50, taste: true, tasteClusters: 5 });
    expect(sim.dataset.taste?.clusters).to.equal(5);
    expect(sim.dataset.options).to.include({ taste: true, tasteClusters: 5 });
    expect(createSimulator({ seed: 's', tracks: 100, users: 50 }).dataset.options).not.to.have.property('taste');
    expect(() => createSimulator({ seed: 's', tracks: 10, users: 5, taste: true, tasteClusters: 11 })).to.throw(RangeError, /clusters/);
  });

  it('stack up passes --taste on as a flag, with the other simulator options', () => {
    expect(stackUpSimulatorArgs(['--seed', 's', '--count', '5000', '--taste', '--taste-clusters', '12'])).to.deep.equal([
      '--seed',
      's',
      '--count',
      '5000',
      '--taste',
      '--taste-clusters',
      '12',
    ]);
    expect(stackUpSimulatorArgs(['--seed', 's'])).to.deep.equal(['--seed', 's']);
    expect(() => stackUpSimulatorArgs(['--taste=yes'])).to.throw();
  });
});
