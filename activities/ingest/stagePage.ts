import { getSource, type SourceDescription } from '../../sources/index.js';
import { bodyDigest } from './bodyDigest.js';
import { contentHash } from './canonicalJson.js';
import { readEnvelope, type PageEnvelope } from './pageEnvelope.js';
import type { QuarantineDocument } from '../../stores/quarantine.js';
import type { StagedPage } from '../../stores/staging.js';
import { gzipRecords, pageDigest, recordsText, RECORDS_WITH_FACTS, stagedPageId, type StagedRecord } from '../../stores/stagedRecords.js';
import { encodeFacts, factsOf } from './recordFacts.js';
import { noteDrift, readableKey, validate } from './validate.js';
import { emptyDrift } from '../../contracts/ingest.js';
import type { SourceName } from '../../contracts/names.js';

export interface PageContext {
  source: SourceDescription;
  runId: string;
  page: number;
  now: Date;
}

/**
 * The staging document of a page without its HTTP figures (bytes, requests, retries), its
 * records as bare gzip bytes (the stored document wraps them in a Binary): nothing here
 * needs a database driver, so staging threads load none.
 */
export type StagedPageContent = Omit<StagedPage, 'bytes' | 'requests' | 'retries' | 'records'> & { records: Uint8Array };

/**
 * Validates every record of a page: the valid ones become the page's staging document,
 * the invalid ones quarantine documents with their reasons. Pure: nothing is written.
 */
export function stagePage(ctx: PageContext, envelope: Pick<PageEnvelope, 'items' | 'total'>): { staged: StagedPageContent; quarantined: QuarantineDocument[] } {
  const records: StagedRecord[] = [];
  const quarantined: QuarantineDocument[] = [];
  const invalidKeys: string[] = [];
  let keylessInvalid = 0;
  const drift = emptyDrift();

  envelope.items.forEach((item, index) => {
    noteDrift(ctx.source, item, drift);
    const issues = validate(ctx.source, item);
    if (issues.length === 0) {
      const record = item as Record<string, unknown>;
      records.push([String(record[ctx.source.keyField]), contentHash(record), encodeFacts(factsOf(ctx.source, record)), JSON.stringify(record)]);
      return;
    }
    const key = readableKey(ctx.source, item) ?? null;
    if (key === null) keylessInvalid++;
    else invalidKeys.push(key);
    quarantined.push({
      _id: `${ctx.runId}:${ctx.source.name}:${ctx.page}:${index}`,
      reason: 'invalid',
      source: ctx.source.name,
      run_id: ctx.runId,
      page: ctx.page,
      index,
      key,
      record_json: JSON.stringify(item) ?? 'undefined',
      issues,
      quarantined_at: ctx.now,
    });
  });

  const text = recordsText(records);
  return {
    staged: {
      _id: stagedPageId(ctx.source.name, ctx.runId, ctx.page),
      source: ctx.source.name,
      run_id: ctx.runId,
      page: ctx.page,
      total: envelope.total,
      fetched: envelope.items.length,
      invalid: quarantined.length,
      keylessInvalid,
      invalidKeys,
      drift,
      fetched_at: ctx.now,
      records: gzipRecords(text),
      format: RECORDS_WITH_FACTS,
      digest: pageDigest(text, invalidKeys, keylessInvalid),
    },
    quarantined,
  };
}

/** A page body to stage, as it crosses to a staging thread (no functions, no classes). */
export interface StageRequest {
  source: SourceName;
  runId: string;
  page: number;
  now: Date;
  url: string;
  text: string;
}

/** stagePage's result with the body's size, as it crosses back. */
export interface StagedText {
  staged: StagedPageContent;
  quarantined: QuarantineDocument[];
  bytes: number;
}

/** Reads a page body (BadBody when it is not a page) and stages it. */
export function stageText(req: StageRequest): StagedText {
  const envelope = readEnvelope(req.text, req.url);
  const { staged, quarantined } = stagePage({ source: getSource(req.source), runId: req.runId, page: req.page, now: req.now }, envelope);
  // A copy of its own when zlib's small output shares a pooled buffer, which must not be moved.
  const records = staged.records.byteLength === staged.records.buffer.byteLength ? staged.records : new Uint8Array(staged.records);
  return { staged: { ...staged, records, body_digest: bodyDigest(req.text) }, quarantined, bytes: Buffer.byteLength(req.text) };
}
