import { availableParallelism } from 'node:os';
import { ThreadPool } from '../../models/threadPool.js';
import { toFailure } from './fetchPage.js';
import { stageText, type StageRequest, type StagedText } from './stagePage.js';

const STAGING_HEAP = { maxOldGenerationSizeMb: 128, maxYoungGenerationSizeMb: 4 };

/**
 * Reading, validating, hashing and compressing a page's records is most of what the ingest
 * does on its one JavaScript thread when little changed upstream. On these threads it runs
 * beside the event loop, which keeps fetching, staging and merging.
 */
export class StagingPool {
  private readonly pool: ThreadPool<StageRequest, StagedText>;

  constructor(readonly size = Math.max(1, availableParallelism())) {
    // Small heaps: a thread holds one page at a time (at most MOOVITAMIX_MAX_RESPONSE_BYTES,
    // 8 MB by default, as text and parsed), and V8's default limits, sized from the machine's
    // memory, let each thread's heap grow long before collecting it.
    this.pool = new ThreadPool<StageRequest, StagedText>(new URL('./stagingThread.js', import.meta.url), size, 'staging', { resourceLimits: STAGING_HEAP });
  }

  stage(req: StageRequest): Promise<StagedText> {
    return this.pool.run(req);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * A page body staged on the pool's threads, or inline without a pool. A body that is not a
 * page fails as a retryable HttpBadBody either way, so the request is made again.
 */
export async function stageBody(pool: StagingPool | undefined, req: StageRequest): Promise<StagedText> {
  try {
    return pool ? await pool.stage(req) : stageText(req);
  } catch (err) {
    throw toFailure(err);
  }
}
