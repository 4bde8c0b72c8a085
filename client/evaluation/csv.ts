import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Growable } from '../../models/growable.js';
import type { Interactions } from '../../models/interactions.js';

/*
 * Listening data from a CSV file: a header naming a user column and an item column (by
 * default `user_id` and `item_id`; any order, other columns ignored), then one listen per
 * row, each user's rows oldest first. An optional time column (default `timestamp`;
 * numbers, or ISO 8601 dates, not both) enables the temporal split. Rows go into typed
 * arrays as they stream in, so millions of rows cost a few bytes each, never a JS object each.
 */

/** The header's names of the user, item and (optional) time columns; matched without regard to case. */
export interface CsvColumns {
  user: string;
  item: string;
  time: string;
  /** Whether the time column must be present (it was named explicitly). */
  timeRequired: boolean;
}

export const DEFAULT_CSV_COLUMNS: CsvColumns = { user: 'user_id', item: 'item_id', time: 'timestamp', timeRequired: false };

/** Why these column names cannot be read (one column named twice), or undefined. */
export function columnsProblem(wanted: CsvColumns): string | undefined {
  const names = [wanted.user, wanted.item, wanted.time];
  if (new Set(names.map((c) => c.toLowerCase())).size < names.length)
    return `the user, item and time columns must be three different columns (got ${names.join(', ')})`;
  return undefined;
}

export interface InteractionsCsv {
  /** Users and items as dense indices: user u is userIds[u], item i is itemIds[i], both ascending by id. */
  interactions: Interactions;
  userIds: Float64Array;
  itemIds: Float64Array;
  /** Each listen's time, aligned with interactions.items; only when the file has a timestamp column. */
  times?: Float64Array;
  /** Data rows read (listens). */
  rows: number;
}

/** Malformed input: the message names the file and line. */
export class CsvError extends Error {
  override name = 'CsvError';
}

/** The header lacks a column the caller named (or the default one). */
export class CsvMissingColumnError extends CsvError {
  override name = 'CsvMissingColumnError';
}

export async function readInteractionsCsv(path: string, names: CsvColumns = DEFAULT_CSV_COLUMNS): Promise<InteractionsCsv> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  return parseInteractionsCsv(lines, path, names);
}

/** The same from lines already split (line 1 is the header). */
export async function parseInteractionsCsv(
  lines: AsyncIterable<string> | Iterable<string>,
  source: string,
  names: CsvColumns = DEFAULT_CSV_COLUMNS,
): Promise<InteractionsCsv> {
  let columns: { user: number; item: number; time: number; width: number } | undefined;
  let timeKind: 'number' | 'date' | undefined;
  const users = new Growable((n) => new Float64Array(n), 1 << 16);
  const items = new Growable((n) => new Float64Array(n), 1 << 16);
  const times = new Growable((n) => new Float64Array(n), 1 << 16);
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (line.trim() === '') continue;
    const fields = line.includes('"') ? splitQuoted(line) : line.split(',');
    const at = `${source} line ${lineNo}`;
    if (!columns) {
      columns = headerColumns(fields, at, names);
      continue;
    }
    if (fields.length < columns.width) throw new CsvError(`${at}: expected ${columns.width} fields or more, got ${fields.length}`);
    users.push(parseId(fields[columns.user] as string, names.user, at));
    items.push(parseId(fields[columns.item] as string, names.item, at));
    if (columns.time >= 0) {
      const text = (fields[columns.time] as string).trim();
      const kind = /^-?\d+(\.\d+)?$/.test(text) ? 'number' : 'date';
      const time = kind === 'number' ? Number(text) : /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
      if (!Number.isFinite(time)) throw new CsvError(`${at}: timestamp "${text}" is neither a number nor an ISO 8601 date`);
      if (timeKind !== undefined && kind !== timeKind)
        throw new CsvError(`${at}: timestamp "${text}" is a ${kind}, earlier rows have ${timeKind}s: use one kind`);
      timeKind = kind;
      times.push(time);
    }
  }
  if (!columns) throw new CsvError(`${source}: empty file, expected a header with ${names.user} and ${names.item}`);
  const userIds = distinctSorted(users.view());
  const itemIds = distinctSorted(items.view());
  const interactions = buildCsr(users.view(), items.view(), userIds, itemIds, columns.time >= 0 ? times.view() : undefined);
  const result: InteractionsCsv = { interactions: interactions.m, userIds, itemIds, rows: users.length };
  if (interactions.times) result.times = interactions.times;
  return result;
}

function headerColumns(fields: string[], at: string, wanted: CsvColumns) {
  const names = fields.map((f) => f.trim().toLowerCase());
  const find = (name: string) => names.indexOf(name.toLowerCase());
  const columns = [wanted.user, wanted.item, wanted.time];
  for (const name of columns) {
    if (find(name) !== names.lastIndexOf(name.toLowerCase())) throw new CsvError(`${at}: the header names column ${name} twice`);
  }
  const problem = columnsProblem(wanted);
  if (problem) throw new CsvError(`${at}: ${problem}`);
  const required = wanted.timeRequired ? columns : [wanted.user, wanted.item];
  const missing = required.filter((name) => find(name) < 0);
  if (missing.length > 0)
    throw new CsvMissingColumnError(`${at}: the header lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (got: ${names.join(',')})`);
  const user = find(wanted.user);
  const item = find(wanted.item);
  const time = find(wanted.time);
  return { user, item, time, width: Math.max(user, item, time) + 1 };
}

function parseId(field: string, name: string, at: string): number {
  const text = field.trim();
  const value = Number(text);
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(value)) throw new CsvError(`${at}: ${name} "${text}" is not a non-negative integer`);
  return value;
}

/** Fields of a line with double-quoted fields ("" inside quotes is one quote). */
function splitQuoted(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let c = 0; c < line.length; c++) {
    const ch = line[c] as string;
    if (quoted) {
      if (ch === '"' && line[c + 1] === '"') {
        field += '"';
        c++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

function distinctSorted(values: Float64Array): Float64Array {
  const sorted = Float64Array.from(values).sort();
  let n = 0;
  for (let k = 0; k < sorted.length; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) sorted[n++] = sorted[k] as number;
  return sorted.slice(0, n);
}

/** Position of value in the ascending ids (present by construction). */
function indexOf(ids: Float64Array, value: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ids[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The CSR, each user's rows in file order (a counting sort by user). */
function buildCsr(rowUsers: Float64Array, rowItems: Float64Array, userIds: Float64Array, itemIds: Float64Array, rowTimes: Float64Array | undefined) {
  const n = rowUsers.length;
  const userOf = new Int32Array(n);
  const offsets = new Int32Array(userIds.length + 1);
  for (let r = 0; r < n; r++) {
    const u = indexOf(userIds, rowUsers[r] as number);
    userOf[r] = u;
    offsets[u + 1]!++;
  }
  for (let u = 0; u < userIds.length; u++) offsets[u + 1]! += offsets[u] as number;
  const cursor = offsets.slice(0, userIds.length);
  const items = new Int32Array(n);
  const times = rowTimes ? new Float64Array(n) : undefined;
  for (let r = 0; r < n; r++) {
    const at = cursor[userOf[r] as number]!++;
    items[at] = indexOf(itemIds, rowItems[r] as number);
    if (times) times[at] = rowTimes![r] as number;
  }
  const m: Interactions = { nUsers: userIds.length, nItems: itemIds.length, offsets, items };
  return { m, times };
}
