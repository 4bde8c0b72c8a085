// The figures of fetching and merging a source, and the ingest activities' inputs: counted and sent by
// activities and workflows, kept in run records.
import type { SourceName } from './names.js';

export const RETRY_REASONS = ['429', '5xx', 'timeout', 'network', 'parse'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

export interface RequestStats {
  requests: number;
  retries: Record<RetryReason, number>;
}

export function emptyRequestStats(): RequestStats {
  return { requests: 0, retries: { '429': 0, '5xx': 0, timeout: 0, network: 0, parse: 0 } };
}

/** Fields added to or missing from the contract, with how many records showed each. */
export interface Drift {
  added: Record<string, number>;
  missing: Record<string, number>;
}

export function emptyDrift(): Drift {
  return { added: {}, missing: {} };
}

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

/** A range's pages, and the digest of what they staged (stagedRecords.ts rangeDigest). */
export interface RangeDigest {
  firstPage: number;
  lastPage: number;
  digest: string;
}

export interface ProbeInput {
  source: SourceName;
  pageSize: number;
}

/** What page 1 says of the whole source. */
export interface ProbeResult {
  total: number;
  pages: number;
}

export interface PageRangeInput {
  source: SourceName;
  /** The run whose staging collection receives the pages. */
  runId: string;
  firstPage: number;
  lastPage: number;
  pageSize: number;
  /**
   * When every page of the range serves the body the last clean merge staged, stage none
   * of them: the range reports them from what that merge kept, with its digest, and says
   * so (`unstaged`). Absent in runs scheduled before: every page is staged.
   */
  skipRepeated?: boolean;
}

export interface MergeInput {
  source: SourceName;
  runId: string;
  /** Pages staged: 1..pages. */
  pages: number;
  /**
   * The fetch's ranges with their digests, when every range had one: a repeat of the last
   * clean merge's pages is then recognised without reading a page (repeatPages.ts).
   * Absent in runs scheduled before ranges had digests: the pages' own are read.
   */
  ranges?: RangeDigest[];
  /** Every page staged, and fetched = total at the start = total at the end: absent records are tombstoned. */
  complete: boolean;
  /** Records expected, to size the merge's partitions. */
  expectedRecords: number;
}

export interface StagingInput {
  source: SourceName;
  runId: string;
  /** Pages the run staged (1..pages); absent in runs scheduled before it was passed. */
  pages?: number;
}

export interface Issue {
  path: string;
  message: string;
}

/** Everything one source did in one run. */
export interface SourceSummary extends FetchStats, MergeStats {
  status: 'COMPLETED' | 'FAILED';
  /** `total` as the API reported it when the run started and when it ended. */
  totalAtStart: number | null;
  totalAtEnd: number | null;
  /** Pages the run had to fetch. `pages` (from FetchStats) is how many it staged, or found unchanged (`unstagedPages`). */
  pagesPlanned: number | null;
  /** Pages fetched but not staged, every one serving the body the last clean merge staged: the merge repeated it. */
  unstagedPages?: number;
  /** Every page staged, fetched = total at start = total at end, every invalid record keyed: absent records were tombstoned. */
  complete: boolean;
  /** Why the run is not complete, when it is not. */
  incompleteReason: string | null;
  /** The staged pages were applied to the raw and curated layers. */
  merged: boolean;
  fetchMs: number;
  mergeMs: number;
  durationMs: number;
  recordsPerSecond: number;
  requestsPerSecond: number;
  error?: string;
}
