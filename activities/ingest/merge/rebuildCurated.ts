import type { Db } from 'mongodb';
import type { SourceDescription } from '../../../sources/index.js';
import { rawCollection } from '../../../stores/raw.js';
import { BatchInserter } from './batchWriters.js';

/**
 * Rebuilds a source's curated collection from its live raw records, aside, then swaps it
 * in. Only for recovery: a merge that died while writing and was never retried may have
 * left curated documents of keys whose raw documents it did not reach. The daily merge
 * otherwise keeps the curated collection in place. Returns the documents written.
 */
export async function rebuildCurated(db: Db, source: SourceDescription, run: string): Promise<number> {
  const nextName = `${source.curatedCollection}__next_${run.replace(/[^A-Za-z0-9]/g, '')}`;
  await db
    .collection(nextName)
    .drop()
    .catch(() => {});
  const curated = new BatchInserter(db.collection<{ _id: string }>(nextName));
  for await (const doc of rawCollection(db, source)
    .find({ deleted_in_run: null }, { projection: { record: 1 } })
    .batchSize(2000)) {
    for (const c of source.curate(doc.record)) {
      const wait = curated.add(c);
      if (wait) await wait;
    }
  }
  await curated.close();
  await db
    .collection(source.curatedCollection)
    .drop()
    .catch(() => {});
  if (curated.written > 0) await db.collection(nextName).rename(source.curatedCollection);
  else
    await db
      .collection(nextName)
      .drop()
      .catch(() => {});
  return curated.written;
}
