import { randomBytes } from 'node:crypto';
import type { Collection, Db, MongoBulkWriteError, UpdateFilter } from 'mongodb';
import {
  COUNTER_OF,
  FEEDBACK_COUNTS,
  FEEDBACK_EVENTS,
  FEEDBACK_PENDING,
  countId,
  feedbackEventId,
  utcDay,
  type FeedbackCountDocument,
  type FeedbackEvent,
  type FeedbackEventDocument,
  type FeedbackPendingDocument,
} from './store.js';

export interface RecordResult {
  /** Events stored (and counted) by this request. */
  accepted: number;
  /** Events already stored (a retry, or the same id twice in the request): not counted again. */
  duplicates: number;
}

export interface RecorderOptions {
  /** A journalled request older than this is taken as dead and counted by someone else (default 60 s). */
  staleAfterMs?: number;
}

/**
 * Stores feedback events and keeps the per-model daily counters, each event counted
 * exactly once however often it is sent. A request:
 *   1. journals its events' ids under a fresh attempt id (`feedback_pending`);
 *   2. inserts the events, each tagged with the attempt; a duplicate `_id` is refused, so
 *      only the attempt that inserted an event counts it;
 *   3. adds what it inserted to the counters, each counter update setting a marker of the
 *      attempt in the same document (a counter that holds the marker is not added to again);
 *   4. deletes its journal entry, then the markers.
 * A request that dies between 1 and 4 leaves its journal entry: `settle` redoes 3-4 for
 * it from the events that carry its attempt id, at most once a minute and only for entries
 * older than `staleAfterMs`. Counter updates run one at a time in this process: FerretDB
 * applies an update as read-modify-write, so two concurrent `$inc` can lose one (measured:
 * 50 at once kept 39). One service process per database writes feedback.
 */
export class FeedbackRecorder {
  private readonly events: Collection<FeedbackEventDocument>;
  private readonly counts: Collection<FeedbackCountDocument>;
  private readonly pending: Collection<FeedbackPendingDocument>;
  private readonly staleAfterMs: number;
  private chain: Promise<unknown> = Promise.resolve();
  private lastSettled = 0;

  constructor(db: Db, options: RecorderOptions = {}) {
    this.events = db.collection<FeedbackEventDocument>(FEEDBACK_EVENTS);
    this.counts = db.collection<FeedbackCountDocument>(FEEDBACK_COUNTS);
    this.pending = db.collection<FeedbackPendingDocument>(FEEDBACK_PENDING);
    this.staleAfterMs = options.staleAfterMs ?? 60_000;
  }

  async record(events: FeedbackEvent[], receivedAt = new Date()): Promise<RecordResult> {
    if (Date.now() - this.lastSettled >= this.staleAfterMs) {
      this.lastSettled = Date.now();
      await this.settle(this.staleAfterMs);
    }
    const attempt = randomBytes(16).toString('hex');
    const docs: FeedbackEventDocument[] = events.map((e) => ({ _id: feedbackEventId(e), ...e, received_at: receivedAt, attempt }));
    await this.pending.insertOne({ _id: attempt, ids: docs.map((d) => d._id), received_at: receivedAt });
    const refused = await insertNew(this.events, docs);
    const inserted = docs.filter((_, i) => !refused.has(i));
    await this.serially(() => this.count(attempt, inserted));
    return { accepted: inserted.length, duplicates: docs.length - inserted.length };
  }

  /** Counts the events of journalled requests older than `olderThanMs`; returns how many requests it finished. */
  async settle(olderThanMs: number): Promise<number> {
    const before = Date.now() - olderThanMs;
    // The journal holds only requests in flight or dead: a whole read of it is small.
    const stale = (await this.pending.find({}).toArray()).filter((p) => p.received_at.getTime() <= before);
    for (const entry of stale) {
      const mine: FeedbackEventDocument[] = [];
      // One lookup by `_id` each: the only query FerretDB answers without a scan.
      for (const id of entry.ids) {
        const doc = await this.events.findOne({ _id: id });
        if (doc?.attempt === entry._id) mine.push(doc);
      }
      await this.serially(() => this.count(entry._id, mine));
    }
    return stale.length;
  }

  private async count(attempt: string, inserted: FeedbackEventDocument[]): Promise<void> {
    const increments = new Map<string, { model: string; day: string; impressions: number; plays: number; likes: number }>();
    for (const e of inserted) {
      const day = utcDay(e.at);
      const id = countId(e.model, day);
      const counter = increments.get(id) ?? { model: e.model, day, impressions: 0, plays: 0, likes: 0 };
      counter[COUNTER_OF[e.type]] += 1;
      increments.set(id, counter);
    }
    const marker = `applied.${attempt}`;
    const now = new Date();
    for (const [id, c] of increments) {
      const update = {
        $inc: { impressions: c.impressions, plays: c.plays, likes: c.likes },
        $set: { model: c.model, day: c.day, updated_at: now, [marker]: true },
      } as UpdateFilter<FeedbackCountDocument>;
      // The marker is checked here, not in the filter: FerretDB reads only `{_id}` filters
      // without scanning the whole collection. Updates run one at a time in this process,
      // so nothing changes the counter between the read and the write.
      for (let tries = 0; ; tries++) {
        const counter = await this.counts.findOne({ _id: id });
        if (counter?.applied?.[attempt] === true) break;
        try {
          await this.counts.updateOne({ _id: id }, update, { upsert: true });
          break;
        } catch (err) {
          // Another process created the counter meanwhile: read it again.
          if ((err as { code?: number }).code !== 11000 || tries > 0) throw err;
        }
      }
    }
    await this.pending.deleteOne({ _id: attempt });
    for (const id of increments.keys()) await this.counts.updateOne({ _id: id }, { $unset: { [marker]: '' } } as UpdateFilter<FeedbackCountDocument>);
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Inserts what is new; returns the positions refused as duplicates of a stored `_id`. */
async function insertNew<T extends { _id: string }>(collection: Collection<T>, docs: T[]): Promise<Set<number>> {
  if (docs.length === 0) return new Set();
  try {
    // The driver's OptionalUnlessRequiredId cannot see that T carries its own _id.
    await collection.insertMany(docs as unknown as Parameters<Collection<T>['insertMany']>[0], { ordered: false });
    return new Set();
  } catch (err) {
    const e = err as MongoBulkWriteError;
    const writeErrors = e.writeErrors === undefined ? [] : Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
    if (writeErrors.length === 0 || !writeErrors.every((w) => w.code === 11000)) throw err;
    return new Set(writeErrors.map((w) => w.index));
  }
}
