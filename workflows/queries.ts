import { defineQuery } from '@temporalio/workflow';
import type { IngestProgress, PipelineProgress, RecommendProgress, RetrainProgress } from '../contracts/workflows.js';

/** Live progress of one source's ingest: pages stored so far and their counts. */
export const ingestProgressQuery = defineQuery<IngestProgress>('ingestProgress');

/** Live progress of a daily run: the state of each source and its child workflow id. */
export const pipelineProgressQuery = defineQuery<PipelineProgress>('pipelineProgress');

/** Live progress of a recommendation run: its batch, chunks scored, users computed and carried. */
export const recommendProgressQuery = defineQuery<RecommendProgress>('recommendProgress');

/** Live progress of a retraining: the stage, the snapshot, the candidates trained so far. */
export const retrainProgressQuery = defineQuery<RetrainProgress>('retrainProgress');
