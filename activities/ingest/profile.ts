import * as v from 'valibot';
import { declaredFields } from '../../sources/schemas.js';
import type { SourceDescription } from '../../sources/index.js';
import { factsOf, MISSING, NULL, timeOf, UNEXPECTED, type RecordFacts } from './recordFacts.js';
import type { FieldProfile, Tally } from '../../contracts/health.js';

const SAMPLES = 5;

/** Counts `n` offences of a record against a tally, keeping its key among the first few. */
export function note(tally: Tally, key: string, n = 1): void {
  tally.count += n;
  if (tally.samples.length < SAMPLES && !tally.samples.includes(key)) tally.samples.push(key);
}

const tally = (): Tally => ({ count: 0, samples: [] });

/**
 * Profiles the records a run received, field by field, in one pass and constant memory:
 * valid records from the raw layer and invalid ones from quarantine alike, so that a
 * record the contract rejected still counts against its fields.
 */
export class RecordProfiler {
  readonly fields: Record<string, FieldProfile> = {};
  records = 0;
  /** Newest value of the source's freshness field, as epoch ms. */
  newest: number | null = null;
  private readonly entries: Record<string, v.GenericSchema>;

  constructor(private readonly source: SourceDescription) {
    this.entries = source.schema.entries as Record<string, v.GenericSchema>;
    for (const field of declaredFields(source.schema)) this.fields[field] = { nulls: tally(), wrongType: tally(), missing: tally(), unexpected: tally() };
  }

  /** Adds a profile kept by someone else (the merge's, of the run's stored records). */
  absorb(other: { records: number; newest: number | null; fields: Record<string, FieldProfile> }): void {
    this.records += other.records;
    if (other.newest !== null && (this.newest === null || other.newest > this.newest)) this.newest = other.newest;
    for (const [field, profile] of Object.entries(this.fields)) {
      const more = other.fields[field];
      if (!more) continue;
      for (const kind of ['nulls', 'wrongType', 'missing', 'unexpected'] as const) {
        profile[kind].count += more[kind].count;
        for (const key of more[kind].samples)
          if (profile[kind].samples.length < SAMPLES && !profile[kind].samples.includes(key)) profile[kind].samples.push(key);
      }
    }
  }

  /** A valid record, from its facts (recordFacts.ts): its types need no second look. */
  addFacts(key: string, facts: Pick<RecordFacts, 'fields' | 'newest'>): void {
    this.records++;
    Object.values(this.fields).forEach((profile, i) => {
      const f = facts.fields[i] as number;
      if (f & NULL) note(profile.nulls, key);
      if (f & MISSING) note(profile.missing, key);
      if (f & UNEXPECTED) note(profile.unexpected, key);
    });
    if (facts.newest !== null && (this.newest === null || facts.newest > this.newest)) this.newest = facts.newest;
  }

  /** `valid`: the record passed validation, so its types need no second look. */
  add(record: Record<string, unknown>, key: string, valid: boolean): void {
    if (valid) {
      this.addFacts(key, factsOf(this.source, record));
      return;
    }
    this.records++;
    for (const [field, profile] of Object.entries(this.fields)) {
      const value = Object.hasOwn(record, field) ? record[field] : undefined;
      if (value === undefined || value === null) {
        note(profile.nulls, key);
        note(profile.missing, key);
        continue;
      }
      if (value === '' || (Array.isArray(value) && value.length === 0)) note(profile.missing, key);
      if (!valid && !v.safeParse(this.entries[field] as v.GenericSchema, value).success) {
        note(profile.wrongType, key);
        continue;
      }
      const accepted = this.source.acceptedValues?.[field];
      if (accepted && typeof value === 'string' && !accepted.includes(value)) note(profile.unexpected, key);
    }
    const at = valid ? timeOf(record[this.source.freshnessField]) : null;
    if (at !== null && (this.newest === null || at > this.newest)) this.newest = at;
  }
}

/** Sorted ids with binary search: a set of hundreds of thousands of keys in a few MB. */
export class IdSet {
  private readonly ids: Float64Array;
  /** `sorted`: the values are a Float64Array already in ascending order, taken as they are. */
  constructor(values: number[] | Float64Array, sorted = false) {
    this.ids = sorted && values instanceof Float64Array ? values : Float64Array.from(values).sort();
  }
  get size(): number {
    return this.ids.length;
  }
  indexOf(id: number): number {
    let lo = 0;
    let hi = this.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.ids[mid] as number;
      if (at === id) return mid;
      if (at < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
  has(id: number): boolean {
    return this.indexOf(id) >= 0;
  }
}

/** p-th percentile (0..1) of a histogram of small whole numbers (value -> count). */
export function percentile(counts: Map<number, number>, total: number, p: number): number {
  if (total === 0) return 0;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (const value of [...counts.keys()].sort((a, b) => a - b)) {
    seen += counts.get(value) as number;
    if (seen >= rank) return value;
  }
  return 0;
}

/** The most frequent entries of a tally, most frequent first (ties by name). */
export function top(counts: Map<string, number>, n: number): [string, number][] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}
