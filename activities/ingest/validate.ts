import * as v from 'valibot';
import type { SourceDescription } from '../../sources/index.js';
import { recordId } from '../../sources/schemas.js';
import type { Drift } from '../../contracts/ingest.js';
import type { Issue } from '../../contracts/ingest.js';

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
 * otherwise fail the insert of a whole batch.
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

/**
 * The key of a record, even an invalid one, when its key field holds a valid id: such
 * a record is known to exist upstream, so it must not be tombstoned. Undefined for a
 * record whose key cannot be read.
 */
export function readableKey(source: SourceDescription, item: unknown): string | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const id = (item as Record<string, unknown>)[source.keyField];
  return v.is(recordId, id) ? String(id) : undefined;
}

export function noteDrift(source: SourceDescription, item: unknown, drift: Drift): void {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
  const declared = source.schema.entries;
  for (const key of Object.keys(item)) if (!(key in declared)) drift.added[key] = (drift.added[key] ?? 0) + 1;
  for (const key of Object.keys(declared)) if (!(key in item)) drift.missing[key] = (drift.missing[key] ?? 0) + 1;
}

export function addDrift(into: Drift, more: Drift): Drift {
  for (const side of ['added', 'missing'] as const) {
    for (const [k, n] of Object.entries(more[side])) into[side][k] = (into[side][k] ?? 0) + n;
  }
  return into;
}
