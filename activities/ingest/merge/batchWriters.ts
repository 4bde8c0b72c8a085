import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import { insertIgnoringDuplicates } from '../quarantine.js';

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

/**
 * Inserts documents in batches, a few batches in flight: inserts of distinct documents
 * may overlap, and a store that encodes documents on several cores takes them faster.
 * Documents whose `_id` exists are skipped, so a retried merge inserts nothing twice.
 */
export class BatchInserter<T extends { _id: string }> {
  private batch: T[] = [];
  private readonly chain: WriteChain;
  /** Documents written (skipped duplicates excluded). */
  written = 0;

  constructor(
    private readonly collection: Collection<T>,
    private readonly size = 1000,
    inFlight = 3,
  ) {
    this.chain = new WriteChain(inFlight);
  }

  /** Queues a document; returns a promise, to await, only when a batch is flushed. */
  add(doc: T): Promise<void> | undefined {
    this.batch.push(doc);
    return this.batch.length >= this.size ? this.flush() : undefined;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.chain.drain();
  }

  private async flush(): Promise<void> {
    const docs = this.batch;
    this.batch = [];
    if (docs.length === 0) return;
    await this.chain.push(async () => {
      // Read `written` after the await: batches in flight finish in any order.
      const skipped = await insertIgnoringDuplicates(this.collection, docs);
      this.written += docs.length - skipped;
    });
  }
}

/**
 * Updates by `_id` in bulk commands of a few statements, one command at a time. Few,
 * and one at a time, because FerretDB v1 holds a pooled SQLite connection per statement
 * that matches a document until the command ends, and hangs once its pool of 100 is
 * spent (stack/ferretdb/README.md). MongoDB serves small bulks just as well.
 */
export class BatchUpdater<T extends Document> {
  private batch: AnyBulkWriteOperation<T>[] = [];
  private readonly chain = new WriteChain(1);

  constructor(
    private readonly collection: Collection<T>,
    private readonly size = 25,
  ) {}

  /** Queues an update; returns a promise, to await, only when a command is sent. */
  add(op: AnyBulkWriteOperation<T>): Promise<void> | undefined {
    this.batch.push(op);
    return this.batch.length >= this.size ? this.flush() : undefined;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.chain.drain();
  }

  private async flush(): Promise<void> {
    const ops = this.batch;
    this.batch = [];
    if (ops.length === 0) return;
    await this.chain.push(async () => {
      await this.collection.bulkWrite(ops, { ordered: false });
    });
  }
}
