import { gunzipSync, gzipSync } from 'node:zlib';
import { Binary, type Db } from 'mongodb';
import type { SourceName } from '../../sources/index.js';
import type { RequestStats } from './requestPage.js';
import type { Drift } from './validate.js';

/**
 * The staging layer: each page, once fetched and validated, is written as one document
 * of a collection of its own run and source. The document is the page's checkpoint (a
 * retried range skips the pages it finds) and the merge's input. Valid records travel
 * gzip-compressed in one Binary field: on FerretDB that is six times cheaper to write
 * and read than one sub-document per record.
 */
export interface StagedPage {
  /** The page number, as a string. */
  _id: string;
  page: number;
  /** `total` as the API reported it on this page. */
  total: number;
  fetched: number;
  invalid: number;
  /** Invalid records whose key cannot be read: while any exist, nothing can be tombstoned. */
  keylessInvalid: number;
  /** Keys of invalid records that still name a record: it exists upstream. */
  invalidKeys: string[];
  bytes: number;
  requests: number;
  retries: RequestStats['retries'];
  drift: Drift;
  fetched_at: Date;
  /** gzip of one line per valid record, in page order: key TAB hash TAB record JSON. */
  records: Binary;
}

/** [key, content hash, the record as received, as JSON text]. */
export type StagedRecord = [string, string, string];

/** One collection per run and source: dropped whole once merged (dropping is instant, deleting is not). */
export function stagingCollectionName(source: SourceName, runId: string): string {
  return `staging_${source}_${runId.replace(/[^A-Za-z0-9]/g, '')}`;
}

export function stagingCollection(db: Db, source: SourceName, runId: string) {
  return db.collection<StagedPage>(stagingCollectionName(source, runId));
}

// Keys are ids written in digits and JSON text holds no raw tab or newline, so plain
// lines need no escaping: cheaper than JSON-in-JSON, and the merge passes the record
// text along without parsing it again.
export function encodeRecords(records: StagedRecord[]): Binary {
  return new Binary(gzipSync(records.map((r) => r.join('\t')).join('\n'), { level: 1 }));
}

export function decodeRecords(binary: Binary): StagedRecord[] {
  const text = gunzipSync(binary.buffer).toString('utf8');
  if (text === '') return [];
  return text.split('\n').map((line) => {
    const a = line.indexOf('\t');
    const b = line.indexOf('\t', a + 1);
    return [line.slice(0, a), line.slice(a + 1, b), line.slice(b + 1)];
  });
}
