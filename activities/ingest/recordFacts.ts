import { parseNaiveTimestamp } from '../../sources/contract.js';
import { declaredFields } from '../../sources/schemas.js';
import type { SourceDescription } from '../../sources/index.js';

/**
 * What the merge needs of a valid record beside its text: how each declared field fares
 * for the profile, the freshness time, what the live aggregates count (a user's creation
 * day and favourite genre, a history's length, references that are not ids) and what the
 * key index keeps. Worked out where the record is parsed anyway, on a staging thread, and
 * carried as a short line beside the record text: the merge then profiles an unchanged
 * record without parsing it. The one definition of these facts: the profile and the live
 * aggregates apply them, whoever computed them (liveProfile.ts).
 */
export interface RecordFacts {
  /** Per declared field, in declaredFields order: NULL | MISSING | UNEXPECTED bits. */
  fields: number[];
  /** The source's freshness field, epoch ms. */
  newest: number | null;
  /** users: the UTC day the user was created. */
  created: string | null;
  /** users: the favourite genre, when a string. */
  genre: string | null;
  /** listen_history: the number of items (0 when not a list). */
  length: number | null;
  /** Per reference field of the source: values that are not ids. */
  notIds: number[];
  /** The key index's label and numbers (the source's `indexed`). */
  label: string;
  values: number[];
}

/** Absent or null. */
export const NULL = 1;
/** Absent, null, an empty string or an empty list. */
export const MISSING = 2;
/** A string outside the field's accepted values. */
export const UNEXPECTED = 4;

const fieldsOf = new WeakMap<SourceDescription, string[]>();

export function factsOf(source: SourceDescription, record: Record<string, unknown>): RecordFacts {
  let fields = fieldsOf.get(source);
  if (!fields) fieldsOf.set(source, (fields = declaredFields(source.schema)));
  const flags = fields.map((field) => {
    const value = Object.hasOwn(record, field) ? record[field] : undefined;
    if (value === undefined || value === null) return NULL | MISSING;
    let f = value === '' || (Array.isArray(value) && value.length === 0) ? MISSING : 0;
    const accepted = source.acceptedValues?.[field];
    if (accepted && typeof value === 'string' && !accepted.includes(value)) f |= UNEXPECTED;
    return f;
  });
  let created: string | null = null;
  let genre: string | null = null;
  if (source.name === 'users') {
    const at = timeOf(record.created_at);
    if (at !== null) created = new Date(at).toISOString().slice(0, 10);
    if (typeof record.favorite_genres === 'string') genre = record.favorite_genres;
  }
  const length = source.name === 'listen_history' ? (Array.isArray(record.items) ? record.items.length : 0) : null;
  const notIds = (source.references ?? []).map(({ field }) => {
    const value = record[field];
    return (Array.isArray(value) ? value : [value]).filter((id) => typeof id !== 'number').length;
  });
  return {
    fields: flags,
    newest: timeOf(record[source.freshnessField]),
    created,
    genre,
    length,
    notIds,
    label: source.indexed?.label?.(record) ?? '',
    values: source.indexed?.values?.(record) ?? [],
  };
}

/**
 * The curated documents a live record stands for (sources/curated.ts): a listen history
 * one per item, any other record one. The merge sums them into the curated collection's size.
 */
export function curatedDocumentsOf(facts: RecordFacts): number {
  return facts.length ?? 1;
}

/** As one line of text: JSON (no raw tab or newline), the field flags as digits, the numbers comma-separated. */
export function encodeFacts(f: RecordFacts): string {
  return JSON.stringify([f.fields.join(''), f.newest, f.created, f.genre, f.length, f.notIds, f.label, f.values.join(',')]);
}

export function decodeFacts(text: string): RecordFacts {
  const [fields, newest, created, genre, length, notIds, label, values] = JSON.parse(text) as [
    string,
    number | null,
    string | null,
    string | null,
    number | null,
    number[],
    string,
    string,
  ];
  return {
    fields: Array.from(fields, (c) => c.charCodeAt(0) - 48),
    newest,
    created,
    genre,
    length,
    notIds,
    label,
    values: values === '' ? [] : values.split(',').map(Number),
  };
}

/** A timestamp as the API writes it (raw layer) or as a Date (curated layer), in epoch ms. */
export function timeOf(value: unknown): number | null {
  if (value instanceof Date) return value.getTime();
  return typeof value === 'string' ? (parseNaiveTimestamp(value)?.getTime() ?? null) : null;
}
