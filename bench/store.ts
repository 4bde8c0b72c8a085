// npm run bench:store -- [--docs 20000] [--reads 2000] [--sizes 5] [--rounds 2] [--binary PATH]... [--json]
//
// What FerretDB spends on the documents the pipeline writes most, on a throwaway server
// (SQLite, default durability) per binary and round: --docs documents of each shape
// inserted 1,000 a command (as the merge and the scoring activities insert), then --reads
// of them read back by `_id` one at a time (as the API reads a list), then the same ids
// read a thousand to a `$in` query (as the merge reads stored versions where the store
// reads `$in` through its index: storeKind.ts), replaced 25 to a bulk command (as the merge
// rewrites curated documents), and deleted, half of them 25 `deleteOne`s to a command and
// half a thousand to a `deleteMany` by `$in`: wall time and the server's CPU seconds. Shapes: a raw track (its record nested, as the raw layer keeps it),
// a recommendation list as stored (stores/recommendedItems.ts), and the same list as JSON
// text (how lists were stored before). Then each collection's size, --sizes times, by the
// `collStats` command (what the run summary used) and by the `$collStats` stage
// (stores/collectionSize.ts, what it uses for what no merge counted), each with the count
// it gave. Without --binary, the project's own FerretDB build; give several (e.g. one
// built from an older checkout, under ~/.cache/moovitamix/bin/) to compare them in one
// run, alternating, --rounds times. Prints a line per binary and round.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import { collectionSize } from '../stores/collectionSize.js';
import { loadConfig } from '../config/config.js';
import { ensureFerretdb } from '../stack/binaries.js';
import { startThrowawayMongo } from '../stack/servers.js';
import { encodeItems, type RecommendedItem } from '../stores/recommendedItems.js';
import { cpuSeconds, machineTicks, positiveOption as positive, stealShare } from './benchProcesses.js';

const { values } = parseArgs({
  options: {
    docs: { type: 'string', default: '20000' },
    reads: { type: 'string', default: '2000' },
    sizes: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    binary: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
  },
});
const docs = positive('docs', values.docs);
const reads = Math.min(docs, positive('reads', values.reads));
const rounds = positive('rounds', values.rounds);
const sizes = positive('sizes', values.sizes);
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const { cacheDir } = loadConfig({ ...process.env, MONGODB_URI: undefined });
const binaries = values.binary ?? [(await ensureFerretdb(cacheDir, log)).path];

const RUN = '01a2061c-45b3-763e-9dcb-0a473f60b569';
const BATCH = '20261203T044021_16d9c7a298a5';
/** A list of 20 tracks and 5 spares, a third of them with two tracks that led to them. */
const list = (u: number): RecommendedItem[] =>
  Array.from({ length: 25 }, (_, i) => ({
    track_id: 100_000 + ((u * 7 + i * 13) % 20_000),
    score: ((u * 31 + i * 17) % 1_000_000) / 1e6,
    reason: 'similar',
    because: i % 3 === 0 ? [100_000 + ((u + i) % 20_000), 100_000 + ((u + 2 * i) % 20_000)] : [],
  }));
const listDocument = (u: number, format: (items: RecommendedItem[]) => string) => {
  const items = list(u);
  const spares = items.splice(20);
  return {
    _id: String(u),
    user_id: u,
    batch_id: BATCH,
    model: 'item-knn@3',
    computed_in: BATCH,
    cold_start: false,
    count: 20,
    items: format(items),
    spares: format(spares),
  };
};
const SHAPES: Record<string, (u: number) => { _id: string }> = {
  rawTrack: (u) => ({
    _id: String(u),
    record: {
      id: u,
      name: `Track ${u}`,
      artist: `Artist ${u % 997}`,
      songwriters: `Writer ${u % 113}`,
      duration: '03:45',
      genres: 'Rock,Pop',
      album: `Album ${u % 501}`,
      created_at: '2024-01-01T10:00:00',
      updated_at: '2024-05-01T10:00:00',
    },
    hash: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    first_seen_run: RUN,
    first_seen_at: new Date(0),
    version_run: RUN,
    version_at: new Date(0),
  }),
  listText: (u) => listDocument(u, encodeItems),
  listJson: (u) => listDocument(u, (items) => JSON.stringify(items)),
};

async function measure(binary: string, round: number): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'moovitamix-bench-store-'));
  const server = await startThrowawayMongo(cacheDir, dir, log, { preferMongod: false, sqliteSynchronous: 'normal', ferretdbBinary: binary });
  const client = await MongoClient.connect(server.address);
  const ticks = machineTicks();
  const out: Record<string, unknown> = { binary, round };
  try {
    for (const [name, shape] of Object.entries(SHAPES)) {
      const all = Array.from({ length: docs }, (_, u) => shape(u + 1));
      const collection = client.db('bench_store').collection<{ _id: string }>(name);
      /** Wall time and the server's CPU seconds of some work. */
      const timed = async (work: () => Promise<void>) => {
        const [cpu, started] = [cpuSeconds(server.pid), performance.now()];
        await work();
        return { ms: Math.round(performance.now() - started), storeCpuS: Number((cpuSeconds(server.pid) - cpu).toFixed(2)) };
      };
      const insert = await timed(async () => {
        for (let from = 0; from < docs; from += 1000) await collection.insertMany(all.slice(from, from + 1000), { ordered: false });
      });
      // Distinct ids spread over the collection (7919 is prime, so they repeat only after `docs`).
      const ids = Array.from({ length: reads }, (_, r) => String(1 + ((r * 7919) % docs)));
      const read = await timed(async () => {
        for (const id of ids) await collection.findOne({ _id: id });
      });
      let found = 0;
      const readIn = await timed(async () => {
        for (let from = 0; from < reads; from += 1000) found += (await collection.find({ _id: { $in: ids.slice(from, from + 1000) } }).toArray()).length;
      });
      const replace = await timed(async () => {
        for (let from = 0; from < reads; from += 25) {
          const ops = ids.slice(from, from + 25).map((id) => ({ replaceOne: { filter: { _id: id }, replacement: shape(Number(id)), upsert: true } }));
          await collection.bulkWrite(ops, { ordered: false });
        }
      });
      const half = Math.floor(reads / 2);
      let deletedOne = 0;
      const deleteOne = await timed(async () => {
        for (let from = 0; from < half; from += 25) {
          const ops = ids.slice(from, Math.min(half, from + 25)).map((id) => ({ deleteOne: { filter: { _id: id } } }));
          deletedOne += (await collection.bulkWrite(ops, { ordered: false })).deletedCount;
        }
      });
      let deletedIn = 0;
      const deleteIn = await timed(async () => {
        for (let from = half; from < reads; from += 1000)
          deletedIn += (await collection.deleteMany({ _id: { $in: ids.slice(from, Math.min(reads, from + 1000)) } })).deletedCount;
      });
      const size = async (count: () => Promise<number>) => {
        let n = 0;
        const time = await timed(async () => {
          for (let r = 0; r < sizes; r++) n = await count();
        });
        return { count: n, ...time };
      };
      const sizeByCommand = await size(async () => (await client.db('bench_store').command({ collStats: name })).count as number);
      const sizeByStage = await size(() => collectionSize(client.db('bench_store'), name));
      out[name] = {
        bytes: Buffer.byteLength(JSON.stringify(all[0])),
        insert,
        read,
        readIn: { found, ...readIn },
        replace,
        deleteOne: { deleted: deletedOne, ...deleteOne },
        deleteIn: { deleted: deletedIn, ...deleteIn },
        sizeByCommand,
        sizeByStage,
      };
    }
    out.stealShare = stealShare(ticks, machineTicks());
    return out;
  } finally {
    await client.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (let round = 1; round <= rounds; round++) {
  for (const binary of binaries) {
    const result = await measure(binary, round);
    if (values.json) console.log(JSON.stringify(result));
    else {
      const shapes = Object.keys(SHAPES).map((name) => {
        type Timed = { ms: number; storeCpuS: number };
        const r = result[name] as Record<'insert' | 'read' | 'readIn' | 'replace' | 'deleteOne' | 'deleteIn' | 'sizeByCommand' | 'sizeByStage', Timed>;
        const timed = (t: Timed) => `${t.ms} ms (${t.storeCpuS} CPU s)`;
        return (
          `${name} insert ${timed(r.insert)}, reads ${timed(r.read)}, by $in ${timed(r.readIn)}, replaces ${timed(r.replace)}, ` +
          `deletes by deleteOne ${timed(r.deleteOne)}, by $in ${timed(r.deleteIn)}, sizes by collStats ${timed(r.sizeByCommand)}, by $collStats ${timed(r.sizeByStage)}`
        );
      });
      console.log(`round ${round} ${binary}: ${shapes.join('; ')}; steal ${String(result.stealShare)}`);
    }
  }
}
