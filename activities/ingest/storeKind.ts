import type { Collection, Db, Document, Filter } from 'mongodb';
import { mapLimit } from './mapLimit.js';
import { deleteIds, IDS_PER_STATEMENT } from '../../stores/deleteIds.js';

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

const idInKnown = new WeakMap<Db, boolean>();

/**
 * Whether the server behind `db` reads `{_id: {$in: [...]}}` through the `_id` index:
 * MongoDB does; FerretDB v1 does with the project's patch (stack/ferretdb/patches.json),
 * and says so in `explain`, which answers only for a collection that exists (asked again
 * until one does). A FerretDB without the patch reads the whole collection for `$in`.
 */
export async function readsIdInByIndex(db: Db, collection: string): Promise<boolean> {
  if ((await writeLimits(db)).server === 'mongodb') return true;
  const known = idInKnown.get(db);
  if (known !== undefined) return known;
  const answer = await db.command({ explain: { find: collection, filter: { _id: { $in: ['?'] } } }, verbosity: 'queryPlanner' }).catch(() => null);
  if (!answer || !Array.isArray((answer.queryPlanner as { Plan?: unknown } | undefined)?.Plan)) return false;
  const pushdown = answer.filterPushdown === true;
  idInKnown.set(db, pushdown);
  return pushdown;
}

/**
 * Documents by `_id`, for a list of ids: `$in` batches where the server reads them through
 * the index (one statement per batch); point reads, a few at a time, where `$in` would read
 * the whole collection.
 */
export async function findByIds<T extends { _id: string }>(db: Db, collection: Collection<T>, ids: string[], projection?: Document): Promise<Map<string, T>> {
  const found = new Map<string, T>();
  if (ids.length === 0) return found;
  const options = projection ? { projection } : {};
  if (await readsIdInByIndex(db, collection.collectionName)) {
    for (let from = 0; from < ids.length; from += IDS_PER_STATEMENT) {
      const filter = { _id: { $in: ids.slice(from, from + IDS_PER_STATEMENT) } } as Filter<T>;
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

/**
 * Deletes documents by `_id`: `$in` batches where the server reads them through the index,
 * else `deleteOne` statements, `bulkStatements` to a command. Returns how many were deleted.
 */
export async function deleteByIds<T extends { _id: string }>(db: Db, collection: Collection<T>, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return deleteIds(collection, ids, { idIn: await readsIdInByIndex(db, collection.collectionName), bulkStatements: (await writeLimits(db)).bulkStatements });
}
