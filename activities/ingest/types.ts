import type { SourceName } from '../../sources/index.js';
import type { RangeDigest } from '../../contracts/ingest.js';

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
