import type { AnyBulkWriteOperation, Collection, Document } from 'mongodb';
import { insertIgnoringDuplicates } from '../quarantine.js';

/**
 * Runs writes one after another, however many callers add to it at once, and makes
 * the next caller wait while one write is queued behind the one in flight: the worker
 * prepares while the database writes, and memory stays bounded. A failed write fails
 * every later await, close() included.
 */
class WriteChain {
  private tail: Promise<void> = Promise.resolve();

  async push(write: () => Promise<void>): Promise<void> {
    const previous = this.tail;
    this.tail = previous.then(write);
    await previous;
  }

  async drain(): Promise<void> {
    await this.tail;
  }
}

/**
 * Inserts documents in batches. Documents whose `_id` exists are skipped, so a retried
 * merge inserts nothing twice.
 */
export class BatchInserter<T extends { _id: string }> {
  private batch: T[] = [];
  private readonly chain = new WriteChain();
  /** Documents written (skipped duplicates excluded). */
  written = 0;

  constructor(
    private readonly collection: Collection<T>,
    private readonly size = 1000,
  ) {}

  async add(doc: T): Promise<void> {
    this.batch.push(doc);
    if (this.batch.length >= this.size) await this.flush();
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
      this.written += docs.length - (await insertIgnoringDuplicates(this.collection, docs));
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
  private readonly chain = new WriteChain();

  constructor(
    private readonly collection: Collection<T>,
    private readonly size = 25,
  ) {}

  async add(op: AnyBulkWriteOperation<T>): Promise<void> {
    this.batch.push(op);
    if (this.batch.length >= this.size) await this.flush();
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
