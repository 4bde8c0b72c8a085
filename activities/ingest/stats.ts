import { emptyRequestStats, RETRY_REASONS, type RequestStats } from './requestPage.js';
import type { StagedPage } from './staging.js';
import { addDrift, emptyDrift, type Drift } from './validate.js';

/** What fetching and staging pages did: HTTP figures and record counts before the merge. */
export interface FetchStats extends RequestStats {
  pages: number;
  bytes: number;
  /** Records received. fetched = valid + invalid. */
  fetched: number;
  /** Records that passed validation and were staged (duplicates included). */
  valid: number;
  /** Records quarantined as invalid. */
  invalid: number;
  /** Invalid records whose key could not be read. */
  keylessInvalid: number;
  drift: Drift;
}

/** What the merge did to the raw layer, and what it built. valid = inserted + updated + unchanged + duplicates. */
export interface MergeStats {
  inserted: number;
  updated: number;
  unchanged: number;
  /** Copies of a key already taken by an earlier page or position of the run; quarantined. */
  duplicates: number;
  /** Records absent from a complete run, marked deleted. */
  tombstoned: number;
  /** Prior versions written to the history collection. */
  historyVersions: number;
  /** Curated documents of the records this run inserted or updated (the curated documents it wrote). */
  curatedDocuments: number;
}

export function emptyFetchStats(): FetchStats {
  return { ...emptyRequestStats(), pages: 0, bytes: 0, fetched: 0, valid: 0, invalid: 0, keylessInvalid: 0, drift: emptyDrift() };
}

export function emptyMergeStats(): MergeStats {
  return { inserted: 0, updated: 0, unchanged: 0, duplicates: 0, tombstoned: 0, historyVersions: 0, curatedDocuments: 0 };
}

export function addRequestStats(into: RequestStats, more: RequestStats): void {
  into.requests += more.requests;
  for (const reason of RETRY_REASONS) into.retries[reason] += more.retries[reason];
}

/** Adds a staged page's figures (its requests and retries included) to a range's. */
export function addPageStats(into: FetchStats, page: Pick<StagedPage, 'fetched' | 'invalid' | 'keylessInvalid' | 'bytes' | 'drift' | 'requests' | 'retries'>): FetchStats {
  into.pages++;
  into.bytes += page.bytes;
  into.fetched += page.fetched;
  into.invalid += page.invalid;
  into.valid += page.fetched - page.invalid;
  into.keylessInvalid += page.keylessInvalid;
  addDrift(into.drift, page.drift);
  addRequestStats(into, page);
  return into;
}
