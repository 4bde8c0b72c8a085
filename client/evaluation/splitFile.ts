import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import type { Split, SplitMethod } from '../../models/evaluation/split.js';

/*
 * A split and the catalogue's item ids as one binary file, so a child process can evaluate
 * a family on exactly the parent's split: "MVXS1\n", a JSON header line, then each typed
 * array's bytes. Written and read array by array: no second copy of the data in memory.
 */

const MAGIC = 'MVXS1\n';
const ARRAYS = ['trainOffsets', 'trainItems', 'testUsers', 'holdoutOffsets', 'holdoutItems', 'itemIds'] as const;
type ArrayName = (typeof ARRAYS)[number];

interface Header {
  method: SplitMethod;
  seed: number;
  maxUsers: number;
  nUsers: number;
  nItems: number;
  trainListens: number;
  testUsersTotal: number;
  fraction?: number;
  cutTime?: number;
  lengths: Record<ArrayName, number>;
}

export function writeSplitFile(path: string, split: Split, itemIds: Float64Array): void {
  const arrays: Record<ArrayName, Int32Array | Float64Array> = {
    trainOffsets: split.train.offsets,
    trainItems: split.train.items,
    testUsers: split.testUsers,
    holdoutOffsets: split.holdoutOffsets,
    holdoutItems: split.holdoutItems,
    itemIds,
  };
  const header: Header = {
    method: split.method,
    seed: split.seed,
    maxUsers: split.maxUsers,
    nUsers: split.train.nUsers,
    nItems: split.train.nItems,
    trainListens: split.trainListens,
    testUsersTotal: split.testUsersTotal,
    lengths: Object.fromEntries(ARRAYS.map((name) => [name, arrays[name].length])) as Record<ArrayName, number>,
  };
  if (split.fraction !== undefined) header.fraction = split.fraction;
  if (split.cutTime !== undefined) header.cutTime = split.cutTime;
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`));
    for (const name of ARRAYS) writeAll(fd, new Uint8Array(arrays[name].buffer, arrays[name].byteOffset, arrays[name].byteLength));
  } finally {
    closeSync(fd);
  }
}

export function readSplitFile(path: string): { split: Split; itemIds: Float64Array } {
  const fd = openSync(path, 'r');
  try {
    // The header line: read a prefix, find its end.
    const prefix = Buffer.alloc(64 * 1024);
    const got = readSync(fd, prefix, 0, prefix.length, 0);
    const end = prefix.subarray(0, got).indexOf(0x0a, MAGIC.length);
    if (prefix.subarray(0, MAGIC.length).toString() !== MAGIC || end < 0) throw new Error(`${path} is not a split file`);
    const header = JSON.parse(prefix.subarray(MAGIC.length, end).toString()) as Header;
    let position = end + 1;
    const read = <T extends Int32Array | Float64Array>(array: T): T => {
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      let done = 0;
      while (done < bytes.length) {
        const n = readSync(fd, bytes, done, bytes.length - done, position + done);
        if (n === 0) throw new Error(`${path}: truncated split file`);
        done += n;
      }
      position += bytes.length;
      return array;
    };
    const trainOffsets = read(new Int32Array(header.lengths.trainOffsets));
    const trainItems = read(new Int32Array(header.lengths.trainItems));
    const testUsers = read(new Int32Array(header.lengths.testUsers));
    const holdoutOffsets = read(new Int32Array(header.lengths.holdoutOffsets));
    const holdoutItems = read(new Int32Array(header.lengths.holdoutItems));
    const itemIds = read(new Float64Array(header.lengths.itemIds));
    const split: Split = {
      method: header.method,
      seed: header.seed,
      maxUsers: header.maxUsers,
      train: { nUsers: header.nUsers, nItems: header.nItems, offsets: trainOffsets, items: trainItems },
      testUsers,
      holdoutOffsets,
      holdoutItems,
      trainListens: header.trainListens,
      testUsersTotal: header.testUsersTotal,
    };
    if (header.fraction !== undefined) split.fraction = header.fraction;
    if (header.cutTime !== undefined) split.cutTime = header.cutTime;
    return { split, itemIds };
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
