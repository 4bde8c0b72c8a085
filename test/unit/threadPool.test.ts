import { expect } from 'chai';
import { decodeRecords } from '../../stores/staging.js';
import type { StageRequest, StagedText } from '../../activities/ingest/stagePage.js';
import { ThreadPool } from '../../models/threadPool.js';
import { until } from '../support/chaos.js';
import { track } from '../support/fixtures.js';

describe('ThreadPool', () => {
  const request = (page: number, id: number): StageRequest => ({
    source: 'tracks',
    runId: 'run-1',
    page,
    now: new Date('2026-11-23T00:00:00Z'),
    url: `http://api.test/tracks?page=${page}`,
    text: JSON.stringify({ items: [track(id)], total: 1, page, size: 100, pages: 1 }),
  });

  it('retires a thread idle past idleMs and starts a new one for the next task', async () => {
    const pool = new ThreadPool<StageRequest, StagedText>(new URL('../../activities/ingest/stagingThread.js', import.meta.url), 2, 'staging', { idleMs: 100 });
    try {
      const first = await pool.run(request(1, 7));
      expect(decodeRecords(first.staged).map(([key]) => key)).to.deep.equal(['7']);
      expect(pool.threadCount).to.equal(1);
      await until(() => pool.threadCount === 0, 10_000, 'the idle thread exits');
      const second = await pool.run(request(2, 9));
      expect(second.staged).to.include({ _id: 'tracks/run-1/2', fetched: 1 });
      expect(decodeRecords(second.staged).map(([key]) => key)).to.deep.equal(['9']);
      expect(pool.threadCount).to.equal(1);
    } finally {
      await pool.close();
    }
  });

  it('keeps a thread that gets a task before idleMs runs out', async () => {
    const pool = new ThreadPool<StageRequest, StagedText>(new URL('../../activities/ingest/stagingThread.js', import.meta.url), 1, 'staging', {
      idleMs: 60_000,
    });
    try {
      for (let page = 1; page <= 3; page++) await pool.run(request(page, page));
      expect(pool.threadCount).to.equal(1);
    } finally {
      await pool.close();
    }
    expect(pool.threadCount).to.equal(0);
  });
});
