// What a daily run did after the ingest: recommendations and the drift check.
import type { RecommendResult } from './recommend.js';

/** What the daily run's drift check found, and the retraining it started. */
export interface PipelineDrift {
  status: 'stable' | 'drifted' | 'skipped' | 'failed';
  reasons: string[];
  figures?: { psiTracks: number; psiGenres: number; championNdcgThen: number | null; championNdcgNow: number | null };
  retrainWorkflowId?: string;
}

/** What the daily run did about recommendations. */
export interface PipelineRecommendations {
  /** unchanged: the step ran and found nothing to publish; the active batch stays. */
  status: 'published' | 'unchanged' | 'skipped' | 'failed';
  workflowId: string;
  reason?: string;
  result?: RecommendResult;
}
