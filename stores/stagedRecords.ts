import { hash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

/*
 * A staged page's records as bytes: what staging threads produce and the merge reads,
 * with no database type in sight (staging.ts wraps them in the stored document).
 */

/**
 * [key, content hash, the record's facts (recordFacts.ts; '' on pages staged before they
 * were), the record as received, as JSON text].
 */
export type StagedRecord = [string, string, string, string];

/** Pages whose lines carry the records' facts; older pages (absent format) have three fields a line. */
export const RECORDS_WITH_FACTS = 2;

export const stagedPageId = (source: string, runId: string, page: number) => `${source}/${runId}/${page}`;

// Keys are ids written in digits and JSON text holds no raw tab or newline, so plain
// lines need no escaping: cheaper than JSON-in-JSON, and the merge passes the record
// text along without parsing it again.
export function recordsText(records: StagedRecord[]): string {
  return records.map((r) => r.join('\t')).join('\n');
}

export function gzipRecords(text: string): Uint8Array {
  return gzipSync(text, { level: 1 });
}

/**
 * What a page staged, in 32 hex digits: its record lines (keys, content hashes, facts and
 * the records) and the keys of its invalid records. Two pages with the same digest stage
 * the same thing, whatever their bodies' formatting and whatever `total` said.
 */
export function pageDigest(text: string, invalidKeys: readonly string[], keylessInvalid: number): string {
  return hash('sha256', `${text}\n${JSON.stringify([invalidKeys, keylessInvalid])}`, 'hex').slice(0, 32);
}

/**
 * What a range of pages staged, from their digests in page order: the merge compares it
 * with the same pages' digests kept from the last clean merge without reading the pages.
 * Undefined when any page has no digest.
 */
export function rangeDigest(pageDigests: readonly (string | undefined)[]): string | undefined {
  if (pageDigests.some((d) => d === undefined)) return undefined;
  return hash('sha256', pageDigests.join('\n'), 'hex').slice(0, 32);
}

export function gunzipRecords(bytes: Uint8Array, format?: number): StagedRecord[] {
  const text = gunzipSync(bytes).toString('utf8');
  if (text === '') return [];
  const withFacts = format === RECORDS_WITH_FACTS;
  return text.split('\n').map((line) => {
    const a = line.indexOf('\t');
    const b = line.indexOf('\t', a + 1);
    if (!withFacts) return [line.slice(0, a), line.slice(a + 1, b), '', line.slice(b + 1)];
    const c = line.indexOf('\t', b + 1);
    return [line.slice(0, a), line.slice(a + 1, b), line.slice(b + 1, c), line.slice(c + 1)];
  });
}
