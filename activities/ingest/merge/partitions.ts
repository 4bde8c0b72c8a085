import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Hash partitions on local disk, so that the merge of a source of any size holds one
 * partition in memory at a time: the worker's memory stays flat as datasets grow.
 * Lines are text (no newline inside); each partition keeps the order they were written in.
 */
export class PartitionFiles {
  private readonly streams: WriteStream[];
  /** With `inMemory`, the lines of each partition, kept instead of written. */
  private readonly held: string[][] | null;

  /** `inMemory`: hold the lines instead (a source small enough for one partition needs no disk round trip). */
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    readonly count: number,
    inMemory = false,
  ) {
    this.held = inMemory ? Array.from({ length: count }, () => []) : null;
    this.streams = inMemory ? [] : Array.from({ length: count }, (_, b) => createWriteStream(this.path(b)));
  }

  path(bucket: number): string {
    return join(this.dir, `${this.prefix}-${bucket}.jsonl`);
  }

  /**
   * Appends a line to the key's partition. Returns a promise, to await, only when the
   * disk is behind: the merge writes a line per record, and promises cost.
   */
  write(key: string, line: string): Promise<void> | undefined {
    if (this.held) {
      (this.held[partitionOf(key, this.count)] as string[]).push(line);
      return undefined;
    }
    const stream = this.streams[partitionOf(key, this.count)] as WriteStream;
    if (stream.write(`${line}\n`)) return undefined;
    return new Promise<void>((resolve) => stream.once('drain', resolve));
  }

  async close(): Promise<void> {
    await Promise.all(this.streams.map((s) => new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())))));
  }

  /**
   * The lines of one partition, in the order written, at once: the merge holds a partition
   * in memory anyway, and a line at a time cost a promise per record.
   */
  async lines(bucket: number): Promise<string[]> {
    if (this.held) return this.held[bucket] as string[];
    const text = await readFile(this.path(bucket), 'utf8');
    return text === '' ? [] : text.slice(0, -1).split('\n');
  }
}

/** FNV-1a of the key, modulo the partition count. */
export function partitionOf(key: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % count;
}
