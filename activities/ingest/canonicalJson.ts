import { hash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so that the same record hashes the
 * same whatever order the API serialised its fields in. Keys are sorted into fresh
 * objects and the native JSON.stringify writes the text (several times faster than
 * concatenating by hand, and the ingest hashes every record).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortKeys);
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/** SHA-256 of the canonical JSON, hex. One-shot: a Hash object per record cost the ingest a third of its hashing. */
export function contentHash(value: unknown): string {
  return hash('sha256', canonicalJson(value), 'hex');
}
