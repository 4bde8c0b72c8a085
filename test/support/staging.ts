import { Binary, type Db } from 'mongodb';
import { insertIgnoringDuplicates, quarantineCollection } from '../../stores/quarantine.js';
import { stagePage } from '../../activities/ingest/stagePage.js';
import { stagingCollection } from '../../stores/staging.js';
import type { SourceDescription } from '../../sources/index.js';

/** Stages pages of records for a run, as fetchPageRange would (pages numbered from 1, in the order given). */
export async function stagePages(db: Db, source: SourceDescription, runId: string, pages: unknown[][], total?: number): Promise<void> {
  const all = total ?? pages.reduce((n, p) => n + p.length, 0);
  for (const [i, items] of pages.entries()) {
    const { staged, quarantined } = stagePage({ source, runId, page: i + 1, now: new Date() }, { items, total: all });
    await insertIgnoringDuplicates(quarantineCollection(db), quarantined);
    await insertIgnoringDuplicates(stagingCollection(db), [
      { ...staged, records: new Binary(staged.records), bytes: 0, requests: 1, retries: { '429': 0, '5xx': 0, timeout: 0, network: 0, parse: 0 } },
    ]);
  }
}
