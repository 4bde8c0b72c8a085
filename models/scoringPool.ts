import { availableParallelism } from 'node:os';
import type { ScoredChunk, ScoringContext, ScoringInput } from './score.js';
import { ThreadPool } from './threadPool.js';

/** Contexts a scoring thread keeps (a batch's, and the canary's beside it). */
const CONTEXTS_PER_THREAD = 2;

/**
 * Scoring runs on worker threads, so a worker process uses every core while its event
 * loop keeps streaming from and writing to MongoDB. A context (model, live catalogue,
 * settings) is sent to a thread once; its arrays are SharedArrayBuffers, so every thread
 * reads the same copy. Threads start on first use and exit when idle, dropping their contexts.
 */
export class ScoringPool {
  private readonly pool: ThreadPool<ScoringInput, ScoredChunk, ScoringContext>;

  constructor(readonly size = Math.max(1, availableParallelism())) {
    this.pool = new ThreadPool(new URL('./scoringThread.js', import.meta.url), size, 'scoring', { keep: CONTEXTS_PER_THREAD });
  }

  /** Scores one chunk on the first free thread. `key` names the context (one per batch). */
  async score(key: string, context: ScoringContext, input: ScoringInput): Promise<ScoredChunk> {
    try {
      return await this.pool.run(input, { key, value: context });
    } catch (err) {
      if ((err as Error).message.includes('pool is closed')) throw err;
      throw new Error(`scoring failed: ${(err as Error).message}`);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
