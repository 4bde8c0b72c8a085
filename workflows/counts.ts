// Pure: imported by workflows, so it must stay deterministic and import nothing but types.
import type { FetchStats, MergeStats } from '../activities/ingest/stats.js';

/** Counters, possibly nested (retries by reason, drift by field). */
export interface Counts {
  [name: string]: number | Counts;
}

/** Adds every number of `more` into `into`, at any depth; returns `into`. */
export function addCounts<T extends object>(into: T, more: T): T {
  const a = into as unknown as Counts;
  const b = more as unknown as Counts;
  for (const [key, value] of Object.entries(b)) {
    if (typeof value === 'number') a[key] = ((a[key] as number | undefined) ?? 0) + value;
    else if (value && typeof value === 'object') a[key] = addCounts((a[key] as Counts | undefined) ?? {}, value);
  }
  return into;
}

export function zeroFetchStats(): FetchStats {
  return {
    requests: 0,
    retries: { '429': 0, '5xx': 0, timeout: 0, network: 0, parse: 0 },
    pages: 0,
    bytes: 0,
    fetched: 0,
    valid: 0,
    invalid: 0,
    keylessInvalid: 0,
    drift: { added: {}, missing: {} },
  };
}

export function zeroMergeStats(): MergeStats {
  return { inserted: 0, updated: 0, unchanged: 0, duplicates: 0, tombstoned: 0, historyVersions: 0, curatedDocuments: 0 };
}
