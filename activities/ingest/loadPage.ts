import type { Collection, Db, MongoBulkWriteError } from 'mongodb';
import * as v from 'valibot';
import type { SourceDescription } from '../../sources/index.js';
import { contentHash } from './canonicalJson.js';
import { mapLimit } from './mapLimit.js';
import { emptyStats, type LoadStats } from './stats.js';

/** A document of a raw collection: the record as received, keyed by its natural key. */
export interface RawDocument {
  _id: string;
  record: Record<string, unknown>;
  /** SHA-256 of the record's canonical JSON. */
  hash: string;
  first_seen_run: string;
  first_seen_at: Date;
  last_seen_run: string;
  last_seen_page: number;
  last_seen_at: Date;
  /** The run that stored the current version of the record. */
  version_run: string;
  version_at: Date;
}

export interface QuarantineDocument {
  /** `<run>:<source>:<page>:<index>`: re-running a page quarantines nothing twice. */
  _id: string;
  source: string;
  run_id: string;
  page: number;
  index: number;
  /** The record exactly as received, as JSON text: whatever it holds can be stored. */
  record_json: string;
  issues: Issue[];
  quarantined_at: Date;
}

export interface PageContext {
  db: Db;
  source: SourceDescription;
  runId: string;
  page: number;
  now: Date;
}

export const QUARANTINE_COLLECTION = 'quarantine';

// Parallel single-document commands: FerretDB pushes down only `{_id: <string>}`
// filters, and it hangs on update commands that carry ~100 statements matching
// existing documents (each holds a pooled SQLite connection), so updates are
// never batched. MongoDB serves these in parallel just as well.
const DB_CONCURRENCY = 16;

type Existing = Pick<RawDocument, '_id' | 'hash' | 'first_seen_run' | 'last_seen_run' | 'last_seen_page' | 'version_run'>;
const EXISTING_PROJECTION = { hash: 1, first_seen_run: 1, last_seen_run: 1, last_seen_page: 1, version_run: 1 } as const;

/**
 * Validates and stores one page. Idempotent: a page stored again in the same run,
 * for instance by a retried activity, writes nothing new and returns the same
 * counts, because each record's classification is read back from its document.
 */
export async function loadPage(ctx: PageContext, items: readonly unknown[]): Promise<LoadStats> {
  const stats = emptyStats();
  stats.fetched = items.length;
  const raw = ctx.db.collection<RawDocument>(ctx.source.rawCollection);

  const valid: { key: string; record: Record<string, unknown>; hash: string }[] = [];
  const quarantined: QuarantineDocument[] = [];
  const keysOnPage = new Set<string>();

  items.forEach((item, index) => {
    const issues = validate(ctx.source, item);
    if (issues.length > 0) {
      quarantined.push({
        _id: `${ctx.runId}:${ctx.source.name}:${ctx.page}:${index}`,
        source: ctx.source.name,
        run_id: ctx.runId,
        page: ctx.page,
        index,
        record_json: JSON.stringify(item) ?? 'undefined',
        issues,
        quarantined_at: ctx.now,
      });
      return;
    }
    const record = item as Record<string, unknown>;
    const key = String(record[ctx.source.keyField]);
    stats.valid++;
    // The same key twice on one page: the first occurrence wins.
    if (keysOnPage.has(key)) {
      stats.duplicates++;
      return;
    }
    keysOnPage.add(key);
    valid.push({ key, record, hash: contentHash(record) });
  });
  stats.invalid = quarantined.length;
  await insertIgnoringDuplicates(ctx.db.collection<QuarantineDocument>(QUARANTINE_COLLECTION), quarantined);

  const existing = await mapLimit(valid, DB_CONCURRENCY, ({ key }) =>
    raw.findOne<Existing>({ _id: key }, { projection: EXISTING_PROJECTION }),
  );

  const inserts: RawDocument[] = [];
  const updates: { key: string; set: Partial<RawDocument> }[] = [];
  const seen = { last_seen_run: ctx.runId, last_seen_page: ctx.page, last_seen_at: ctx.now };

  valid.forEach(({ key, record, hash }, i) => {
    const doc = existing[i];
    if (!doc) {
      stats.inserted++;
      inserts.push({
        _id: key,
        record,
        hash,
        first_seen_run: ctx.runId,
        first_seen_at: ctx.now,
        ...seen,
        version_run: ctx.runId,
        version_at: ctx.now,
      });
    } else if (doc.last_seen_run === ctx.runId && doc.last_seen_page === ctx.page) {
      // Stored by an earlier attempt at this very page: report what that attempt did.
      if (doc.first_seen_run === ctx.runId) stats.inserted++;
      else if (doc.version_run === ctx.runId) stats.updated++;
      else stats.unchanged++;
    } else if (doc.last_seen_run === ctx.runId) {
      // Seen on another page of this run. The lowest page wins, whatever order pages load in.
      stats.duplicates++;
      if (ctx.page < doc.last_seen_page) {
        updates.push({ key, set: doc.hash === hash ? { last_seen_page: ctx.page } : { record, hash, last_seen_page: ctx.page } });
      }
    } else if (doc.hash === hash) {
      stats.unchanged++;
      updates.push({ key, set: seen });
    } else {
      stats.updated++;
      updates.push({ key, set: { record, hash, ...seen, version_run: ctx.runId, version_at: ctx.now } });
    }
  });

  const lostRaces = await insertIgnoringDuplicates(raw, inserts);
  // Another page of this run inserted the key between our read and our insert.
  stats.inserted -= lostRaces;
  stats.duplicates += lostRaces;
  await mapLimit(updates, DB_CONCURRENCY, ({ key, set }) => raw.updateOne({ _id: key }, { $set: set }));
  return stats;
}

export interface Issue {
  path: string;
  message: string;
}

/** Checks a record against its source's schema, then that it can be stored as it is. */
export function validate(source: SourceDescription, item: unknown): Issue[] {
  const result = v.safeParse(source.schema, item);
  if (!result.success) {
    return result.issues.map((issue) => ({
      path: v.getDotPath(issue) ?? '(record)',
      message: `${issue.message}${issue.received && !issue.message.includes(issue.received) ? ` (received ${issue.received})` : ''}`,
    }));
  }
  const issues: Issue[] = [];
  unstorable(result.output, '', false, issues);
  return issues;
}

/**
 * What MongoDB 7 or FerretDB v1 would refuse, at any depth (unknown extra fields can
 * hold anything): field names that are empty, start with "$" or contain "." or NUL,
 * and arrays inside arrays (FerretDB v1 cannot store them). One such field would
 * otherwise fail the insert of the whole page.
 */
function unstorable(value: unknown, path: string, inArray: boolean, issues: Issue[]): void {
  if (Array.isArray(value)) {
    if (inArray) issues.push({ path, message: 'arrays inside arrays cannot be stored' });
    else value.forEach((item, i) => unstorable(item, `${path}.${i}`, true, issues));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      if (key === '' || key.startsWith('$') || key.includes('.') || key.includes('\u0000')) {
        issues.push({ path: at, message: 'field name cannot be stored (empty, starts with "$", or contains "." or NUL)' });
      } else {
        unstorable(inner, at, false, issues);
      }
    }
  }
}

/** Inserts documents, skipping those whose `_id` exists; returns how many were skipped. */
async function insertIgnoringDuplicates<T extends { _id: string }>(collection: Collection<T>, docs: T[]): Promise<number> {
  if (docs.length === 0) return 0;
  try {
    // The driver's OptionalUnlessRequiredId cannot see that T carries its own _id.
    await collection.insertMany(docs as unknown as Parameters<Collection<T>["insertMany"]>[0], { ordered: false });
    return 0;
  } catch (err) {
    const e = err as MongoBulkWriteError;
    const writeErrors = e.writeErrors === undefined ? [] : Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors];
    if (e.code !== 11000 && !(writeErrors.length > 0 && writeErrors.every((w) => w.code === 11000))) throw err;
    return Math.max(writeErrors.length, 1);
  }
}
