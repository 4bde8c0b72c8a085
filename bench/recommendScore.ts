// The scoring half of bench:recommend, in a process of its own so that its peak RSS is
// its own: fit item-kNN on N users x M tracks x L listens, then score every user in
// chunks on the scoring pool's worker threads, as the scoreRecommendations activity does.
// Prints one JSON line.
import { parseArgs } from 'node:util';
import { ScoringPool } from '../models/scoringPool.js';
import { fitItemKnn } from '../models/itemKnn.js';
import type { ScoringContext } from '../models/score.js';
import { peakRssMb } from './benchProcesses.js';
import { syntheticListens } from './syntheticListens.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string' },
    tracks: { type: 'string' },
    listens: { type: 'string' },
    threads: { type: 'string' },
    chunk: { type: 'string', default: '5000' },
    k: { type: 'string', default: '20' },
  },
});
const users = Number(values.users);
const tracks = Number(values.tracks);
const listens = Number(values.listens);
const chunkSize = Number(values.chunk);
const k = Number(values.k);
const pool = new ScoringPool(Number(values.threads));
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const t0 = performance.now();
const items = syntheticListens(users, tracks, listens);
const offsets = Int32Array.from({ length: users + 1 }, (_, u) => u * listens);
const generateMs = performance.now() - t0;

const t1 = performance.now();
const cpu1 = cpu();
const model = fitItemKnn(
  { nUsers: users, nItems: tracks, offsets, items },
  Float64Array.from({ length: tracks }, (_, i) => i + 1),
  { neighbors: 50 },
);
const fitMs = performance.now() - t1;

// Tombstone 1% of the catalogue, as a day's deletions would.
const live = new Uint8Array(new SharedArrayBuffer(tracks)).fill(1);
for (let i = 0; i < tracks; i += 100) live[i] = 0;
const context: ScoringContext = { model, live, itemGenre: new Uint8Array(new SharedArrayBuffer(tracks)), k, genreBoost: 3 };

const t2 = performance.now();
const cpu2 = cpu();
let recommendations = 0;
let similar = 0;
const chunks = Math.ceil(users / chunkSize);
let next = 0;
// Two chunks per thread in flight: threads never wait for the main thread.
await Promise.all(
  Array.from({ length: pool.size * 2 }, async () => {
    for (let c = next++; c < chunks; c = next++) {
      const from = c * chunkSize;
      const to = Math.min(users, from + chunkSize);
      const histOffsets = Int32Array.from({ length: to - from + 1 }, (_, u) => u * listens);
      const result = await pool.score('bench', context, {
        n: to - from,
        histOffsets,
        histItems: items.slice(from * listens, to * listens),
        genre: new Uint8Array(to - from),
      });
      recommendations += result.items.length;
      for (const r of result.reasons) if (r === 0) similar++;
    }
  }),
);
const scoreMs = performance.now() - t2;
const workerCpuSeconds = cpu() - cpu2;
await pool.close();
console.log(
  JSON.stringify({
    generateMs: Math.round(generateMs),
    fitMs: Math.round(fitMs),
    fitCpuSeconds: Number((cpu2 - cpu1).toFixed(1)),
    scoreMs: Math.round(scoreMs),
    scoreCpuSeconds: Number(workerCpuSeconds.toFixed(1)),
    threads: pool.size,
    recommendations,
    similarShare: Number((similar / recommendations).toFixed(3)),
    peakRssMb: peakRssMb('self'),
  }),
);
