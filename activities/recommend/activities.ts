import type { Db } from 'mongodb';
import { prepareBatch, type PrepareInput } from './prepare.js';
import { abandonBatch, publishBatch, pruneBatches } from './publish.js';
import { scoreChunk, type ScoreChunkInput } from './scoreChunk.js';
import { ScoringPool } from '../../models/scoringPool.js';
import { type RecommendSettings } from '../../config/recommendSettings.js';
import { defaultRecommendSettings } from '../../config/config.js';

export interface RecommendDeps {
  db: Db;
  settings?: RecommendSettings;
  /** Shared with the worker, which closes it; one of its own (threads started on first use) if not given. */
  pool?: ScoringPool;
}

/** The recommendation step's activities: plan, score chunks, publish, clean up. */
export function createRecommendActivities({ db, settings = defaultRecommendSettings(), pool }: RecommendDeps) {
  let scoring = pool;
  const getPool = () => (scoring ??= new ScoringPool(settings.threads));
  return {
    prepareRecommendations: (input: PrepareInput) => prepareBatch(db, settings, input),
    scoreRecommendations: (input: ScoreChunkInput) => scoreChunk(db, getPool(), input),
    publishRecommendations: (input: { batchId: string }) => publishBatch(db, input.batchId),
    abandonRecommendations: (input: { batchId: string; error: string }) => abandonBatch(db, input.batchId, input.error),
    pruneRecommendations: () => pruneBatches(db, settings.keepBatches),
  };
}
