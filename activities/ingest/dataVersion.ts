import type { Db } from 'mongodb';
import { SOURCES } from '../../sources/index.js';
import { keyIndexGeneration } from './merge/keyIndex.js';
import { SOURCE_NAMES } from '../../contracts/names.js';

/**
 * A name for the content of the raw layer of every source: equal on two days exactly when
 * no merge wrote anything in between. Steps that derive from the whole data (the drift
 * check, recommendations) compare it with the one they last worked from, and skip work
 * that would give the same answer. Null when unknown (a merge is writing, or a source has
 * never been merged): then nothing is skipped.
 */
export async function dataVersion(db: Db): Promise<string | null> {
  const parts: string[] = [];
  for (const name of SOURCE_NAMES) {
    const generation = await keyIndexGeneration(db, SOURCES[name]);
    if (generation === null) return null;
    parts.push(`${name}:${generation}`);
  }
  return parts.join('|');
}
