import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Hash partitions on local disk, so that the merge of a source of any size holds one
 * partition in memory at a time: the worker's memory stays flat as datasets grow.
 * Lines are JSON; each partition keeps the order lines were written in.
 */
export class PartitionFiles {
  private readonly streams: WriteStream[];

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    readonly count: number,
  ) {
    this.streams = Array.from({ length: count }, (_, b) => createWriteStream(this.path(b)));
  }

  path(bucket: number): string {
    return join(this.dir, `${this.prefix}-${bucket}.jsonl`);
  }

  /** Appends a line to the key's partition; waits when the disk is behind. */
  async write(key: string, value: unknown): Promise<void> {
    const stream = this.streams[partitionOf(key, this.count)] as WriteStream;
    if (!stream.write(`${JSON.stringify(value)}\n`)) await new Promise<void>((resolve) => stream.once('drain', resolve));
  }

  async close(): Promise<void> {
    await Promise.all(this.streams.map((s) => new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())))));
  }

  /** The lines of one partition, parsed, in the order written. */
  async *read<T>(bucket: number): AsyncGenerator<T> {
    const lines = createInterface({ input: createReadStream(this.path(bucket)), crlfDelay: Infinity });
    for await (const line of lines) if (line) yield JSON.parse(line) as T;
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
