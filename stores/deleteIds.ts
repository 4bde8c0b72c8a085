import type { Collection, Filter } from 'mongodb';

/** Ids per `$in` statement (FerretDB's patch pushes down at most 1,000: stack/ferretdb/patches.json). */
export const IDS_PER_STATEMENT = 1000;

/** How a store takes deletes by `_id` (activities/ingest/storeKind.ts finds out). */
export interface IdDeletes {
  /** The store reads `{_id: {$in}}` through its index. */
  idIn: boolean;
  /** `deleteOne` statements per bulk command otherwise. */
  bulkStatements: number;
}

/**
 * Deletes documents by `_id`: with `idIn`, a thousand ids to a `deleteMany` on `$in`; else
 * `deleteOne` statements, `bulkStatements` to a command. Returns how many were deleted.
 */
export async function deleteIds<T extends { _id: string }>(collection: Collection<T>, ids: readonly string[], how: IdDeletes): Promise<number> {
  let deleted = 0;
  const step = how.idIn ? IDS_PER_STATEMENT : how.bulkStatements;
  for (let from = 0; from < ids.length; from += step) {
    const batch = ids.slice(from, from + step);
    deleted += how.idIn
      ? (await collection.deleteMany({ _id: { $in: batch } } as Filter<T>)).deletedCount
      : (
          await collection.bulkWrite(
            batch.map((id) => ({ deleteOne: { filter: { _id: id } as Filter<T> } })),
            { ordered: false },
          )
        ).deletedCount;
  }
  return deleted;
}
