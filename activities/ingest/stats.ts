import type { StagedPage } from '../../stores/staging.js';
import { addDrift } from './validate.js';
import { RETRY_REASONS, type FetchStats, type RequestStats } from '../../contracts/ingest.js';

export function addRequestStats(into: RequestStats, more: RequestStats): void {
  into.requests += more.requests;
  for (const reason of RETRY_REASONS) into.retries[reason] += more.retries[reason];
}

/** Adds a staged page's figures (its requests and retries included) to a range's. */
export function addPageStats(
  into: FetchStats,
  page: Pick<StagedPage, 'fetched' | 'invalid' | 'keylessInvalid' | 'bytes' | 'drift' | 'requests' | 'retries'>,
): FetchStats {
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
