import { Binary, type Db } from 'mongodb';
import { fromBinary, toBinary } from '../../../stores/binary.js';
import type { SourceDescription } from '../../../sources/index.js';

/**
 * The raw layer's state per key (content hash and run marks), kept beside it in a few
 * binary documents of `<raw collection>_keys`, so that a merge compares the day's snapshot
 * with it instead of reading every raw document back: FerretDB decodes each document it
 * returns, a few thousand a second, which made reading the raw layer most of an unchanged
 * day. An unchanged day reads it and writes nothing; a day with changes rewrites it whole
 * (a few MB at 200,000 records), after its raw writes.
 *
 * Trust: a merge marks the index `writing: <run>` before its first raw write and clears
 * the mark when it saves the index after its last. An index marked by another run may
 * be behind the raw layer (that merge died and was never retried): it is not used, and
 * the merge reads the raw layer instead. An index marked by the same run (a retry) is the
 * state before the run, which a retry handles as the first attempt did: it finds what
 * that attempt wrote from the raw documents' marks, writes nothing twice and reports the
 * same counts.
 */
export interface KeyState {
  hash: string;
  first: string;
  version: string;
  deletedIn: string | null;
  missed: string | null;
}

/**
 * What readers of the whole live data need of a key, beside its state (the source's
 * `indexed` description): a label (a track's genres, a user's favourite genre) and
 * numbers (a history's track ids). Empty for a tombstoned key.
 */
export interface KeyExtras {
  label: string;
  values: number[];
}

export const NO_EXTRAS: KeyExtras = { label: '', values: [] };

interface MetaDocument {
  _id: 'meta';
  /** The generation whose chunks are current. */
  generation?: string;
  /** The run that saved it, its keys and chunks. */
  run?: string;
  keys?: number;
  chunks?: number;
  /** Documents in the source's history collection when the index was saved; absent on indexes saved before it was kept. */
  history?: number;
  /** Set while a merge writes the raw layer; cleared when it saves the index. */
  writing?: string | null;
  /** The merge that holds the source (one at a time), and when it last said so. */
  lease?: { run: string; at: Date } | null;
}

interface ChunkDocument {
  /** `<generation>/<n>`. */
  _id: string;
  generation: string;
  /** The run ids the marks point into. */
  runs: string[];
  /** Keys, newline-separated. */
  keys: string;
  /** 32 bytes of SHA-256 per key. */
  hashes: Binary;
  /** Indexes into `runs` (Uint16; NONE = not set). */
  first: Binary;
  version: Binary;
  deleted: Binary;
  missed: Binary;
  /** Each key's label as an index into `labels` (Uint32). */
  labels: string[];
  label_of: Binary;
  /** Each key's numbers: values[offsets[i]..offsets[i + 1]] (Int32 offsets, Float64 values). */
  value_offsets: Binary;
  values: Binary;
}

const NONE = 0xffff;
const KEYS_PER_CHUNK = 50_000;

function collection(db: Db, source: SourceDescription) {
  return db.collection<MetaDocument | ChunkDocument>(keyIndexCollectionName(source));
}

/** Where a source's key index lives; documents beside it that carry its `generation` are dropped with it. */
export const keyIndexCollectionName = (source: SourceDescription) => `${source.rawCollection}_keys`;

function readMeta(db: Db, source: SourceDescription): Promise<MetaDocument | null> {
  return collection(db, source).findOne({ _id: 'meta' }) as Promise<MetaDocument | null>;
}

/**
 * What an index trusted by `run` says of the history collection. A clean save counted every
 * prior version written before it, this run's earlier attempts' included. An index `run`
 * marked before its first write was saved by another run before any of `run`'s versions
 * existed, unless `run` saved it itself (merged twice, the second merge cut short): then
 * nothing says which of its versions the figure holds, and the collection is counted.
 */
function historyAsKnown(meta: MetaDocument, run: string | null): { documents: number; excludes: 'none of the run' | 'all of the run' } | null {
  if (typeof meta.history !== 'number') return null;
  if (!meta.writing) return { documents: meta.history, excludes: 'none of the run' };
  return meta.run === run ? null : { documents: meta.history, excludes: 'all of the run' };
}

/** One key of the index: its key, state and extras (NO_EXTRAS when they were not asked for). */
export type KeyEntry = [string, KeyState, KeyExtras];

/**
 * The index when it can be trusted by `run`, with its number of keys; null when the raw
 * layer must be read instead. `chunks()` yields the keys 5,000 at a time, reading each
 * stored chunk (50,000) while the one before is handed out: a promise per batch, not per
 * key, as readers go through every key.
 */
export async function openKeyIndex(
  db: Db,
  source: SourceDescription,
  run: string | null,
): Promise<{
  keys: number;
  generation: string;
  /**
   * The history collection's size as the index knows it, and from which of `run`'s versions
   * on (historySize in mergeSource.ts); null when it must be counted.
   */
  history: { documents: number; excludes: 'none of the run' | 'all of the run' } | null;
  chunks: (options?: { extras?: boolean }) => AsyncGenerator<KeyEntry[]>;
} | null> {
  const meta = await readMeta(db, source);
  if (!meta?.generation || (meta.writing && meta.writing !== run)) return null;
  const { generation, chunks = 0 } = meta;
  return {
    keys: meta.keys ?? 0,
    generation,
    history: historyAsKnown(meta, run),
    async *chunks({ extras = true } = {}) {
      // Without extras, their arrays stay in the store: a history index holds every listened track id.
      const options = extras ? {} : { projection: { labels: 0, label_of: 0, value_offsets: 0, values: 0 } };
      // The next chunk is read while this one is handed out.
      const read = (n: number) => {
        const doc = collection(db, source).findOne({ _id: `${generation}/${n}` }, options) as Promise<ChunkDocument | null>;
        doc.catch(() => {});
        return doc;
      };
      let next = chunks > 0 ? read(0) : null;
      for (let n = 0; n < chunks; n++) {
        const doc = await next;
        next = n + 1 < chunks ? read(n + 1) : null;
        if (!doc) throw new Error(`key index of ${source.rawCollection}: chunk ${n} of generation ${generation} is missing`);
        const chunk = decodeChunk(doc, extras);
        // A few thousand keys at a time: a chunk's 50,000 as objects at once would be tens of MB per source.
        for (let from = 0; from < chunk.count; from += ENTRIES_PER_BATCH) yield chunk.entries(from, Math.min(chunk.count, from + ENTRIES_PER_BATCH));
      }
    },
  };
}

const ENTRIES_PER_BATCH = 5_000;

/** A stored chunk's arrays decoded once, handing out its keys a slice at a time. */
function decodeChunk(chunk: ChunkDocument, withExtras: boolean): { count: number; entries: (from: number, to: number) => KeyEntry[] } {
  const keys = chunk.keys === '' ? [] : chunk.keys.split('\n');
  const bytes = chunk.hashes.buffer;
  // One view for the chunk: hex per key without a Buffer per key.
  const hashes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [first, version, deleted, missed] = [chunk.first, chunk.version, chunk.deleted, chunk.missed].map((b) => fromBinary(b, Uint16Array)) as [
    Uint16Array,
    Uint16Array,
    Uint16Array,
    Uint16Array,
  ];
  const run = (i: number) => (i === NONE ? null : (chunk.runs[i] as string));
  const labelOf = withExtras ? fromBinary(chunk.label_of, Uint32Array) : null;
  const offsets = withExtras ? fromBinary(chunk.value_offsets, Int32Array) : null;
  const values = withExtras ? fromBinary(chunk.values, Float64Array) : null;
  return {
    count: keys.length,
    entries(from, to) {
      const out: KeyEntry[] = new Array(to - from);
      for (let i = from; i < to; i++) {
        const extras: KeyExtras =
          labelOf && offsets && values
            ? { label: chunk.labels[labelOf[i] as number] ?? '', values: Array.from(values.subarray(offsets[i] as number, offsets[i + 1] as number)) }
            : NO_EXTRAS;
        out[i - from] = [
          keys[i] as string,
          {
            hash: hashes.toString('hex', 32 * i, 32 * i + 32),
            first: run(first[i] as number) as string,
            version: run(version[i] as number) as string,
            deletedIn: run(deleted[i] as number),
            missed: run(missed[i] as number),
          },
          extras,
        ];
      }
      return out;
    },
  };
}

/**
 * The generation of a source's raw layer: it changes whenever a merge writes anything,
 * and only then. Null while a merge writes, or before the first index exists.
 */
export async function keyIndexGeneration(db: Db, source: SourceDescription): Promise<string | null> {
  const meta = await readMeta(db, source);
  return meta?.generation && !meta.writing ? meta.generation : null;
}

/** The run whose merge marked the index as being written, if any. */
export async function keyIndexWriter(db: Db, source: SourceDescription): Promise<string | null> {
  const meta = await readMeta(db, source);
  return meta?.writing ?? null;
}

/** A lease not renewed for this long belongs to a merge that died: another may take it. */
export const LEASE_STALE_MS = 30 * 60_000;

/**
 * Takes the source for `run`'s merge, one merge at a time (backfills run dates in
 * parallel): true when taken (or already held by the same run, a retry), false while
 * another run's merge holds a lease renewed within LEASE_STALE_MS. Renewing is taking again.
 */
export async function takeMergeLease(db: Db, source: SourceDescription, run: string, now = new Date()): Promise<boolean> {
  const coll = collection(db, source);
  const free = { $or: [{ lease: null }, { 'lease.run': run }, { 'lease.at': { $lt: new Date(now.getTime() - LEASE_STALE_MS) } }] };
  try {
    const r = await coll.updateOne({ _id: 'meta', ...free } as never, { $set: { lease: { run, at: now } } }, { upsert: true });
    return r.matchedCount + r.upsertedCount > 0;
  } catch (err) {
    // The upsert of a meta document that exists but is held: someone else's lease.
    if ((err as { code?: number }).code === 11000) return false;
    throw err;
  }
}

/** Gives the source back, if `run` holds it. */
export async function releaseMergeLease(db: Db, source: SourceDescription, run: string): Promise<void> {
  await collection(db, source).updateOne({ _id: 'meta', 'lease.run': run } as never, { $set: { lease: null } });
}

/** The run whose merge holds the source, if any. */
export async function mergeLeaseHolder(db: Db, source: SourceDescription): Promise<string | null> {
  const meta = await readMeta(db, source);
  return meta?.lease?.run ?? null;
}

/** Marks the index as behind the raw layer until `run` saves it. Idempotent. */
export async function markKeyIndexWriting(db: Db, source: SourceDescription, run: string): Promise<void> {
  await collection(db, source).updateOne({ _id: 'meta' }, { $set: { writing: run } }, { upsert: true });
}

/**
 * Saves the state of every key as a new generation, with the history collection's size,
 * switches to it, and drops the old one.
 */
export async function saveKeyIndex(
  db: Db,
  source: SourceDescription,
  run: string,
  entries: AsyncIterable<[string, KeyState, KeyExtras]>,
  history: number,
): Promise<number> {
  const coll = collection(db, source);
  const generation = `${run}@${Date.now().toString(36)}`;
  let chunks = 0;
  let keys = 0;
  let batch: [string, KeyState, KeyExtras][] = [];
  const flush = async () => {
    const runs: string[] = [];
    const index = new Map<string, number>();
    const at = (r: string | null) => {
      if (r === null) return NONE;
      let i = index.get(r);
      if (i === undefined) {
        i = runs.push(r) - 1;
        index.set(r, i);
      }
      return i;
    };
    const hashes = Buffer.alloc(32 * batch.length);
    const marks = [0, 1, 2, 3].map(() => new Uint16Array(batch.length)) as [Uint16Array, Uint16Array, Uint16Array, Uint16Array];
    batch.forEach(([key, s], i) => {
      if (!/^[0-9a-f]{64}$/.test(s.hash)) throw new Error(`key index of ${source.rawCollection}: the hash of ${key} is not SHA-256 hex`);
      hashes.write(s.hash, 32 * i, 'hex');
      marks[0][i] = at(s.first);
      marks[1][i] = at(s.version);
      marks[2][i] = at(s.deletedIn);
      marks[3][i] = at(s.missed);
    });
    const labels: string[] = [];
    const labelIndex = new Map<string, number>();
    const labelOf = Uint32Array.from(batch, ([, , x]) => {
      let i = labelIndex.get(x.label);
      if (i === undefined) {
        i = labels.push(x.label) - 1;
        labelIndex.set(x.label, i);
      }
      return i;
    });
    const offsets = new Int32Array(batch.length + 1);
    batch.forEach(([, , x], i) => (offsets[i + 1] = (offsets[i] as number) + x.values.length));
    const values = new Float64Array(offsets[batch.length] as number);
    batch.forEach(([, , x], i) => values.set(x.values, offsets[i] as number));
    if (runs.length >= NONE) throw new Error(`key index of ${source.rawCollection}: more than ${NONE - 1} distinct runs in one chunk`);
    await coll.insertOne({
      _id: `${generation}/${chunks}`,
      generation,
      runs,
      keys: batch.map(([k]) => k).join('\n'),
      hashes: new Binary(hashes),
      first: toBinary(marks[0]),
      version: toBinary(marks[1]),
      deleted: toBinary(marks[2]),
      missed: toBinary(marks[3]),
      labels,
      label_of: toBinary(labelOf),
      value_offsets: toBinary(offsets),
      values: toBinary(values),
    });
    chunks++;
    keys += batch.length;
    batch = [];
  };
  for await (const entry of entries) {
    batch.push(entry);
    if (batch.length >= KEYS_PER_CHUNK) await flush();
  }
  if (batch.length > 0 || chunks === 0) await flush();
  await coll.updateOne({ _id: 'meta' }, { $set: { generation, run, keys, chunks, history, writing: null } }, { upsert: true });
  // Older generations, and any left by a merge that died while saving.
  await coll.deleteMany({ _id: { $ne: 'meta' }, generation: { $ne: generation } } as never);
  return keys;
}
