import { availableParallelism } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';
import { Binary } from 'mongodb';
import { ThreadPool } from '../threadPool.js';
import type { QuarantineDocument } from './quarantine.js';
import { stageText, type StagedPageContent, type StageRequest, type StagedText } from './stagePage.js';

/**
 * Reading, validating, hashing and compressing a page's records is most of what the ingest
 * does on its one JavaScript thread when little changed upstream. On these threads it runs
 * beside the event loop, which keeps fetching, staging and merging.
 */
export class StagingPool {
  private readonly pool: ThreadPool<StageRequest, StagedText>;

  constructor(readonly size = Math.max(1, availableParallelism())) {
    this.pool = new ThreadPool<StageRequest, StagedText>(new URL('./stagingThread.js', import.meta.url), size, 'staging');
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
 * page fails as it does inline (retryable HttpBadBody), so the request is made again.
 */
export async function stageBody(pool: StagingPool | undefined, req: StageRequest): Promise<{ staged: StagedPageContent; quarantined: QuarantineDocument[]; bytes: number }> {
  let out: StagedText;
  try {
    out = pool ? await pool.stage(req) : stageText(req);
  } catch (err) {
    const e = err as Error & { type?: string };
    if (pool && e.type === 'HttpBadBody') throw ApplicationFailure.retryable(e.message, 'HttpBadBody');
    throw err;
  }
  return { staged: { ...out.staged, records: new Binary(out.records) }, quarantined: out.quarantined, bytes: out.bytes };
}
