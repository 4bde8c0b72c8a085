import { log } from '@temporalio/activity';
import type { Db } from 'mongodb';
import type { SourceDescription } from '../../sources/index.js';
import { liveKeyHashes } from './merge/keyIndex.js';

/**
 * The records the raw layer holds, as a fetch sees them: each live key with the first 8
 * bytes of its content hash, sorted by key, in shared memory so that every staging thread
 * reads the one copy. A record served with a key and hash found here is staged without
 * its text (stagePage.ts): the merge takes it as unchanged, from its hash, and never needs
 * the text. Keys that are not whole numbers written plainly are left out: their records
 * are staged in full.
 */
export interface KnownRecords {
  /** The key index generation they come from: the merge takes such pages only against the same one. */
  generation: string;
  /** Sorted. */
  keys: Float64Array;
  /** Two per key, in the keys' order: the hash's first 8 bytes as big-endian Uint32s. */
  hashes: Uint32Array;
}

/** Per database and source, the last table built: a new generation replaces it. */
const built = new WeakMap<Db, Map<string, Promise<KnownRecords | null>>>();

/**
 * The source's known records at its current key index generation, built once per
 * generation and worker process (the fetch's ranges share it); null while a merge writes,
 * before the first index exists, or when it could not be read (then every record is
 * staged in full, as before).
 */
export async function knownRecords(db: Db, source: SourceDescription): Promise<KnownRecords | null> {
  const index = await liveKeyHashes(db, source);
  if (!index) return null;
  let bySource = built.get(db);
  if (!bySource) built.set(db, (bySource = new Map()));
  const last = await bySource.get(source.rawCollection);
  if (last?.generation === index.generation) return last;
  const loading = (async () => {
    const keys = new Float64Array(index.keys);
    const hashes = new Uint32Array(2 * index.keys);
    let n = 0;
    for await (const chunk of index.chunks()) {
      for (let i = 0; i < chunk.keys.length && n < index.keys; i++) {
        const key = wholeNumber(chunk.keys[i] as string);
        if (key === null || !chunk.live(i)) continue;
        keys[n] = key;
        hashes[2 * n] = chunk.hashes.readUInt32BE(32 * i);
        hashes[2 * n + 1] = chunk.hashes.readUInt32BE(32 * i + 4);
        n++;
      }
    }
    const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => (keys[a] as number) - (keys[b] as number));
    const sortedKeys = new Float64Array(new SharedArrayBuffer(8 * n));
    const sortedHashes = new Uint32Array(new SharedArrayBuffer(8 * n));
    order.forEach((from, to) => {
      sortedKeys[to] = keys[from] as number;
      sortedHashes[2 * to] = hashes[2 * from] as number;
      sortedHashes[2 * to + 1] = hashes[2 * from + 1] as number;
    });
    return { generation: index.generation, keys: sortedKeys, hashes: sortedHashes };
  })().catch((err: unknown) => {
    // A merge saved a new generation while this one was read: stage in full this time.
    log.warn('known records not read: staging records in full', { source: source.name, error: String(err) });
    return null;
  });
  bySource.set(source.rawCollection, loading);
  return loading;
}

/** Whether the raw layer holds this key live with this content hash (64 hex digits), by its first 8 bytes. */
export function isKnown(known: KnownRecords, key: string, hashHex: string): boolean {
  const k = wholeNumber(key);
  if (k === null) return false;
  const { keys, hashes } = known;
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = keys[mid] as number;
    if (at < k) lo = mid + 1;
    else if (at > k) hi = mid - 1;
    else return hashes[2 * mid] === parseInt(hashHex.slice(0, 8), 16) && hashes[2 * mid + 1] === parseInt(hashHex.slice(8, 16), 16);
  }
  return false;
}

/** A key as a number when it is a whole number written plainly ("42", not "042" or "4.2e1"). */
function wholeNumber(key: string): number | null {
  const k = Number(key);
  return Number.isSafeInteger(k) && String(k) === key ? k : null;
}
