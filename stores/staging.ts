import type { Binary, Collection, Db, FindOptions } from 'mongodb';
import { insertIgnoringDuplicates } from './quarantine.js';
import { deleteIds, IDS_PER_STATEMENT } from './deleteIds.js';
import { gunzipRecords, stagedPageId, type StagedRecord } from './stagedRecords.js';
import type { RequestStats, Drift } from '../contracts/ingest.js';
import type { SourceName } from '../contracts/names.js';

export { stagedPageId, type StagedRecord };

/**
 * The staging layer: each page, once fetched and validated, is written as one document
 * of the one staging collection, keyed by source, run and page. The document is the
 * page's checkpoint (a retried range skips the pages it finds) and the merge's input;
 * it is deleted once merged. One collection for every run, rather than one per run
 * dropped whole: creating and dropping a collection takes FerretDB's catalogue lock for
 * the whole server, and a drop that waited behind a busy merge of another source held
 * every other operation behind it (a daily run's dropStaging ran into its 5-minute
 * timeout that way). With no collection created or dropped while runs go on, it cannot. Valid records travel
 * gzip-compressed in one Binary field: on FerretDB that is six times cheaper to write
 * and read than one sub-document per record.
 */
export interface StagedPage {
  /** `<source>/<run id>/<page>`. */
  _id: string;
  source: SourceName;
  run_id: string;
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
  /** gzip of one line per valid record, in page order: key TAB hash TAB facts TAB record JSON. */
  records: Binary;
  /** RECORDS_WITH_FACTS; absent on pages staged before, whose lines have no facts. */
  format?: number;
  /** What the page staged (stagedRecords.ts pageDigest); absent on pages staged before digests were. */
  digest?: string;
  /** The body's digest (bodyDigest.ts): a later run served the same body need not stage it; absent on pages staged before. */
  body_digest?: string;
}

export const STAGING_COLLECTION = 'staging_pages';

/** Copies of staged pages kept elsewhere (localStagedPages.ts): a page's copy, or undefined to read the store. */
export interface StagedPageCopies {
  read(dbName: string, pageId: string): Promise<StagedPage | undefined>;
}

export function stagingCollection(db: Db): Collection<StagedPage> {
  return db.collection<StagedPage>(STAGING_COLLECTION);
}

/** A run's staged page of a source, by its `_id` (the one filter every store serves from an index). */
export function findStagedPage(db: Db, source: SourceName, runId: string, page: number, options: FindOptions = {}): Promise<StagedPage | null> {
  return stagingCollection(db).findOne({ _id: stagedPageId(source, runId, page) }, options);
}

/**
 * A run's staged pages 1..pages of a source in page order (null for a page not staged),
 * `ahead` reads in flight; leaving early settles the reads still out. A page with a copy in
 * `local` is read from there (whole: give no projection with it).
 */
export async function* stagedPagesInOrder(
  db: Db,
  source: SourceName,
  runId: string,
  pages: number,
  options: FindOptions = {},
  ahead = 16,
  local?: StagedPageCopies,
): AsyncGenerator<[number, StagedPage | null]> {
  const fromStore = (page: number) => findStagedPage(db, source, runId, page, options);
  const read = (page: number) => {
    const doc = local ? local.read(db.databaseName, stagedPageId(source, runId, page)).then((copy) => copy ?? fromStore(page)) : fromStore(page);
    // Observed here so that a read left behind cannot crash the worker; the awaiting code still sees its error.
    doc.catch(() => {});
    return doc;
  };
  const inFlight = new Map<number, ReturnType<typeof read>>();
  try {
    for (let page = 1; page <= pages; page++) {
      for (let next = page; next < page + ahead && next <= pages; next++) if (!inFlight.has(next)) inFlight.set(next, read(next));
      const doc = await inFlight.get(page);
      inFlight.delete(page);
      yield [page, doc ?? null];
    }
  } finally {
    await Promise.allSettled(inFlight.values());
  }
}

/**
 * Stages pages in one command; a page already staged (by an earlier attempt) is kept as it
 * is. Returns how many were already staged.
 */
export function insertStagedPages(db: Db, docs: StagedPage[]): Promise<number> {
  return insertIgnoringDuplicates(stagingCollection(db), docs);
}

/**
 * Deletes a run's staged pages of a source by `_id`: `bulkStatements` `deleteOne`s to a
 * command, or with `idIn` (the server reads `_id: {$in}` through its index) a thousand
 * ids to one `deleteMany`. Without `pages`, from page 1 on until a command deletes
 * nothing. Returns how many were deleted.
 */
export async function deleteStagedPages(
  db: Db,
  source: SourceName,
  runId: string,
  pages: number | undefined,
  bulkStatements: number,
  idIn = false,
): Promise<number> {
  let deleted = 0;
  const step = idIn ? IDS_PER_STATEMENT : bulkStatements;
  for (let from = 1; pages === undefined || from <= pages; from += step) {
    const to = pages === undefined ? from + step - 1 : Math.min(pages, from + step - 1);
    const ids = Array.from({ length: to - from + 1 }, (_, i) => stagedPageId(source, runId, from + i));
    const n = await deleteIds(stagingCollection(db), ids, { idIn, bulkStatements });
    deleted += n;
    if (pages === undefined && n === 0) break;
  }
  return deleted;
}

/** Deletes the pages of a source staged before `before` (left by failed runs). */
export async function deleteExpiredPages(db: Db, source: SourceName, before: Date): Promise<number> {
  return (await stagingCollection(db).deleteMany({ source, fetched_at: { $lt: before } })).deletedCount;
}

/** A staged page's records, from its stored Binary or the bytes a staging thread produced. */
export function decodeRecords(page: Pick<StagedPage, 'format'> & { records: Binary | Uint8Array }): StagedRecord[] {
  return gunzipRecords(page.records instanceof Uint8Array ? page.records : page.records.buffer, page.format);
}
