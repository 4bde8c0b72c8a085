import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import { insertIgnoringDuplicates } from '../../../stores/quarantine.js';

/**
 * Runs writes with at most `slots` in flight, however many callers add to it at once:
 * the worker prepares the next batch while the database writes, and memory stays
 * bounded. A failed write fails every later push, and drain().
 */
class WriteChain {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly slots: number) {}

  async push(write: () => Promise<void>): Promise<void> {
    while (this.inFlight.size >= this.slots) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
    const running: Promise<void> = write()
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Buffers items and writes them `size` at a time through a WriteChain. */
abstract class Batcher<I> {
  private batch: I[] = [];

  protected constructor(
    private readonly size: number,
    private readonly chain: WriteChain,
  ) {}

  /** Queues an item; returns a promise, to await, only when a batch is sent. */
  add(item: I): Promise<void> | undefined {
    this.batch.push(item);
    return this.batch.length >= this.size ? this.flush() : undefined;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.chain.drain();
  }

  protected abstract write(items: I[]): Promise<void>;

  private async flush(): Promise<void> {
    const items = this.batch;
    this.batch = [];
    if (items.length === 0) return;
    await this.chain.push(() => this.write(items));
  }
}

/**
 * Inserts documents in batches, a few batches in flight: inserts of distinct documents
 * may overlap, and a store that encodes documents on several cores takes them faster.
 * Documents whose `_id` exists are skipped, so a retried merge inserts nothing twice.
 */
export class BatchInserter<T extends { _id: string }> extends Batcher<T> {
  /** Documents written (skipped duplicates excluded). */
  written = 0;

  constructor(
    private readonly collection: Collection<T>,
    size = 1000,
    inFlight = 3,
  ) {
    super(size, new WriteChain(inFlight));
  }

  protected async write(docs: T[]): Promise<void> {
    // Read `written` after the await: batches in flight finish in any order.
    const skipped = await insertIgnoringDuplicates(this.collection, docs);
    this.written += docs.length - skipped;
  }
}

/**
 * Updates, replaces and deletes by `_id` in bulk commands of `size` statements, one
 * command at a time: size comes from writeLimits (a few on FerretDB v1, which hangs on
 * commands of ~100 matching statements; a thousand on MongoDB).
 */
export class BatchUpdater<T extends Document> extends Batcher<AnyBulkWriteOperation<T>> {
  constructor(
    private readonly collection: Collection<T>,
    size = 25,
  ) {
    super(size, new WriteChain(1));
  }

  protected async write(ops: AnyBulkWriteOperation<T>[]): Promise<void> {
    await this.collection.bulkWrite(ops, { ordered: false });
  }
}
