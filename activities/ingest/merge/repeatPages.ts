import type { Db } from 'mongodb';
import type { SourceDescription } from '../../../sources/index.js';
import { rangeDigest } from '../../../stores/stagedRecords.js';
import { stagedPagesInOrder } from '../../../stores/staging.js';
import { LIVE_PROFILE_VERSION } from '../liveProfile.js';
import { keyIndexCollectionName, keyIndexGeneration } from './keyIndex.js';
import type { Drift, MergeInput } from '../../../contracts/ingest.js';

/*
 * A day that served the very pages the last clean merge of the source did (every page's
 * digest the same, stagedRecords.ts) changes nothing: the merge records it without reading
 * the key index or a single record. A full merge would find every record unchanged, no key
 * to tombstone and the same live profile, and write nothing but the ledger.
 *
 * What makes it exact: the digests are kept beside the key index, tied to its generation,
 * which changes whenever a merge writes anything; while a merge writes (or died writing),
 * the index has no generation at all. So digests of the current generation describe the
 * raw layer as it is. They are kept only after a complete run whose every page was valid
 * and whose keys were all distinct: then every live key was served, none is marked
 * missed, and the live profile of that run's ledger is the live data's (as long as the
 * profile is computed the same way: LIVE_PROFILE_VERSION). Any other full merge forgets them.
 */

/** Beside the key index's documents, in its collection: dropped when its generation is. */
interface PageDigestsDocument {
  _id: 'pages';
  /** The key index generation the digests describe. */
  generation: string;
  /** The run whose full merge staged these pages (its ledger holds the live profile). */
  run: string;
  /** Page p's digest at p − 1. */
  digests: string[];
  /** Keys served by those pages: every live key. */
  served: number;
  /** LIVE_PROFILE_VERSION of the merge that kept them: its ledger's profile is copied only by a merge that computes the same. */
  profile_version: number;
  /**
   * Page p's body digest (bodyDigest.ts) at p − 1, its records at the same place in
   * `fetched` and its drift, when not empty, under `drifts[p]`: what a fetch needs to
   * report a page it does not stage again. Absent when any page was staged without one.
   */
  bodies?: string[];
  fetched?: number[];
  drifts?: Record<string, Drift>;
}

/** What a merge knows of each page it read, to keep. */
export interface KeptPage {
  digest: string | undefined;
  body: string | undefined;
  fetched: number;
  drift: Drift;
}

/** What a fetch needs to recognise the last clean merge's pages by their bodies. */
export interface KeptBodies {
  digests: string[];
  bodies: string[];
  fetched: number[];
  drifts: Record<string, Drift>;
}

function digestsCollection(db: Db, source: SourceDescription) {
  return db.collection<PageDigestsDocument>(keyIndexCollectionName(source));
}

/**
 * The run whose merge already gave the raw layer this run's pages, and the keys they
 * served; null when the run must be merged in full (incomplete, any page different or
 * staged without a digest, digests of another generation, or kept by this very run: a
 * retry reports what its first attempt did).
 */
export async function repeatOf(
  db: Db,
  source: SourceDescription,
  input: Pick<MergeInput, 'runId' | 'pages' | 'complete' | 'ranges'>,
): Promise<{ run: string; served: number } | null> {
  if (!input.complete) return null;
  const kept = await currentDigests(db, source);
  if (!kept || kept.run === input.runId || kept.digests.length !== input.pages) return null;
  const same = { run: kept.run, served: kept.served };
  // The fetch's ranges, when they tile the pages, say what was staged without a read.
  if (input.ranges && tiles(input.ranges, input.pages)) {
    return input.ranges.every((r) => rangeDigest(kept.digests.slice(r.firstPage - 1, r.lastPage)) === r.digest) ? same : null;
  }
  for await (const [page, staged] of stagedPagesInOrder(db, source.name, input.runId, input.pages, { projection: { digest: 1 } })) {
    if (staged?.digest === undefined || staged.digest !== kept.digests[page - 1]) return null;
  }
  return same;
}

/** Whether the ranges, in order, cover pages 1..pages once each. */
function tiles(ranges: readonly { firstPage: number; lastPage: number }[], pages: number): boolean {
  let next = 1;
  for (const r of ranges) {
    if (r.firstPage !== next || r.lastPage < r.firstPage) return false;
    next = r.lastPage + 1;
  }
  return next === pages + 1;
}

/** After a full merge: keeps its pages' digests when it qualifies (see above), forgets any others. */
export async function keepPageDigests(db: Db, source: SourceDescription, run: string, pages: KeptPage[] | null, served: number): Promise<void> {
  const coll = digestsCollection(db, source);
  const generation = await keyIndexGeneration(db, source);
  if (!generation || pages === null || pages.some((p) => p.digest === undefined)) {
    await coll.deleteOne({ _id: 'pages' });
    return;
  }
  const kept: Omit<PageDigestsDocument, '_id'> = {
    generation,
    run,
    digests: pages.map((p) => p.digest as string),
    served,
    profile_version: LIVE_PROFILE_VERSION,
  };
  if (pages.every((p) => p.body !== undefined)) {
    kept.bodies = pages.map((p) => p.body as string);
    kept.fetched = pages.map((p) => p.fetched);
    kept.drifts = {};
    pages.forEach((p, i) => {
      if (Object.keys(p.drift.added).length + Object.keys(p.drift.missing).length > 0) (kept.drifts as Record<string, Drift>)[i + 1] = p.drift;
    });
  }
  await coll.replaceOne({ _id: 'pages' }, kept, { upsert: true });
}

/**
 * The last clean merge's pages as a fetch recognises them, when their digests describe the
 * raw layer as it is and carry body digests; else null. A hint only: the merge checks the
 * ranges' digests against what it keeps then.
 */
export async function keptBodies(db: Db, source: SourceDescription): Promise<KeptBodies | null> {
  const kept = await currentDigests(db, source);
  if (!kept?.bodies || !kept.fetched) return null;
  return { digests: kept.digests, bodies: kept.bodies, fetched: kept.fetched, drifts: kept.drifts ?? {} };
}

/** The kept digests while they describe the raw layer as it is (the key index's generation) and its profile is computed the same way; else null. */
async function currentDigests(db: Db, source: SourceDescription): Promise<PageDigestsDocument | null> {
  const generation = await keyIndexGeneration(db, source);
  if (!generation) return null;
  const kept = await digestsCollection(db, source).findOne({ _id: 'pages' });
  return kept && kept.generation === generation && kept.profile_version === LIVE_PROFILE_VERSION ? kept : null;
}
