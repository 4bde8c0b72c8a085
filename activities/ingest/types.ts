import type { SourceName } from '../../sources/index.js';
import type { LoadStats } from './stats.js';

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
  runId: string;
  firstPage: number;
  lastPage: number;
  pageSize: number;
}

export interface PageRangeResult extends LoadStats {
  pagesStored: number;
  /** `total` as the API reported it on the first and the last page fetched. */
  totalAtStart: number | null;
  totalAtEnd: number | null;
}

/** Heartbeat details: enough for a retried attempt to resume after the last stored page. */
export interface RangeCheckpoint {
  nextPage: number;
  result: PageRangeResult;
}
