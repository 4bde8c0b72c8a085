import type { LoadStats } from '../activities/ingest/stats.js';
import type { SourceSummary } from '../activities/runs/types.js';
import type { SourceName } from '../sources/index.js';

export interface IngestSourceInput {
  source: SourceName;
  /** The daily run this ingest belongs to: stored on every record it touches. */
  runId: string;
  /** Records per request (1..100). Default 100. */
  pageSize?: number;
  /** Pages per fetchPageRange activity. Default 5. */
  pagesPerRange?: number;
  /** fetchPageRange activities in flight at once for this source. Default 4. */
  maxConcurrentRanges?: number;
}

export interface IngestSourceResult extends LoadStats {
  source: SourceName;
  total: number;
  pages: number;
  pagesStored: number;
  /** `total` as reported on the last page fetched: differs from `total` if the API changed mid-run. */
  totalAtEnd: number | null;
}

export interface IngestProgress extends LoadStats {
  source: SourceName;
  state: 'probing' | 'fetching' | 'completed' | 'failed';
  total: number | null;
  pages: number | null;
  pagesStored: number;
}

export interface DailyPipelineInput {
  /** The run's logical date, YYYY-MM-DD. The API has no date filter: every run reads the whole dataset. */
  date: string;
  /** Sources to ingest; default all. */
  sources?: SourceName[];
  pageSize?: number;
  pagesPerRange?: number;
  maxConcurrentRanges?: number;
}

export interface DailyPipelineResult {
  workflowId: string;
  runId: string;
  date: string;
  status: 'COMPLETED';
  durationMs: number;
  sources: Partial<Record<SourceName, SourceSummary>>;
}

export type SourceState = 'pending' | 'running' | 'completed' | 'failed';

export interface PipelineProgress {
  workflowId: string;
  runId: string;
  date: string;
  sources: Partial<Record<SourceName, { state: SourceState; workflowId: string; summary?: SourceSummary }>>;
}
