import type { Collection, Db, Document, Filter } from 'mongodb';
import { mapLimit } from './mapLimit.js';

/**
 * How big a bulk write command may be on the server behind `db`. MongoDB takes
 * thousands of statements per command, each on an index. FerretDB v1 holds a pooled
 * SQLite connection for every statement of a command that matches a document until the
 * command ends, and hangs once its pool of 100 is spent (stack/ferretdb/README.md), so
 * there a command carries a few statements.
 */
export interface WriteLimits {
  server: 'mongodb' | 'ferretdb';
  /** Update, replace and delete statements per bulk command. */
  bulkStatements: number;
}

const FERRETDB: WriteLimits = { server: 'ferretdb', bulkStatements: 25 };
const MONGODB: WriteLimits = { server: 'mongodb', bulkStatements: 1000 };

const known = new WeakMap<Db, Promise<WriteLimits>>();

/** Asked once per Db: FerretDB says who it is in buildInfo. */
export function writeLimits(db: Db): Promise<WriteLimits> {
  let limits = known.get(db);
  if (!limits) {
    limits = db
      .command({ buildInfo: 1 })
      .then((info) => (info.ferretdbVersion !== undefined ? FERRETDB : MONGODB))
      .catch(() => FERRETDB);
    known.set(db, limits);
  }
  return limits;
}

/**
 * Documents by `_id`, for a list of ids: `$in` batches on MongoDB (one indexed query per
 * batch); point reads, a few at a time, on FerretDB, where only a filter that is exactly
 * `{_id: <id>}` uses the index and `$in` reads the whole collection.
 */
export async function findByIds<T extends { _id: string }>(db: Db, collection: Collection<T>, ids: string[], projection?: Document): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  if (ids.length === 0) return found;
  const options = projection ? { projection } : {};
  if ((await writeLimits(db)).server === 'mongodb') {
    for (let from = 0; from < ids.length; from += 1000) {
      const filter = { _id: { $in: ids.slice(from, from + 1000) } } as Filter<T>;
      for (const doc of (await collection.find(filter, options).toArray()) as T[]) found.set(doc._id, doc);
    }
    return found;
  }
  await mapLimit(ids, 16, async (id) => {
    const doc = (await collection.findOne({ _id: id } as Filter<T>, options)) as T | null;
    if (doc) found.set(id, doc);
  });
  return found;
}
