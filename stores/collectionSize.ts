import type { Db } from 'mongodb';

/**
 * Documents in a collection, as the `$collStats` stage's `count` gives them: MongoDB's
 * collection metadata. On FerretDB it is a walk over every page of the collection's
 * table (about 0.4 s per 200,000 small documents), so daily work takes the sizes the merge
 * knows (SourceRunDocument `sizes`) and measures only what nothing keeps.
 */
export async function collectionSize(db: Db, name: string): Promise<number> {
  try {
    // One document per shard on a sharded cluster.
    const shards = await db
      .collection(name)
      .aggregate<{ count?: unknown }>([{ $collStats: { count: {} } }])
      .toArray();
    if (shards.length > 0 && shards.every((s) => typeof s.count === 'number')) return shards.reduce((n, s) => n + (s.count as number), 0);
  } catch {
    // A server without the stage, or a collection not created yet: count instead.
  }
  return db.collection(name).estimatedDocumentCount();
}
