import type { Binary } from 'mongodb';
import type { SourceDescription, SourceName } from '../../sources/index.js';
import { fromBinary, toBinary } from '../binary.js';
import { RecordProfiler, timeOf, type FieldProfile, type Tally } from './profile.js';

/**
 * What the health checks need of a source's live records, gathered by the merge while it
 * holds each of them anyway: the field profile of the records the run served, and the
 * aggregates of every live record (counts, per-day and per-genre tallies, the keys other
 * sources point at). The checks then read this one document instead of every record.
 */
export interface LiveProfileDocument {
  /** Records the run served and stored (valid, first copy of each key). */
  profile: { records: number; newest: number | null; fields: Record<string, FieldProfile> };
  /** Live records after the merge. */
  live: number;
  /** Numeric keys of the live records, ascending (Float64): what references resolve against. */
  live_ids: Binary;
  /** A label per live id (tracks: genres), as indexes into `labels` (Uint32). */
  live_labels?: { values: string[]; of: Binary };
  /** users: live users by the UTC day they were created, and by favourite genre. */
  created_days?: Record<string, number>;
  favorite_genres?: Record<string, number>;
  /** listen_history: live histories by length. */
  history_lengths?: Record<string, number>;
  /** Per reference field: the ids the live records point at (Float64, ascending) and how often (Uint32). */
  refs?: Record<string, { ids: Binary; counts: Binary; not_ids: Tally }>;
  /** listen_history: the users of live histories that hold at least one listen (Float64). */
  users_with_listens?: Binary;
}

/** The field a source's live ids are labelled with, for KPIs of the sources that point at it. */
const LABEL_FIELD: Partial<Record<SourceName, string>> = { tracks: 'genres' };

export class LiveProfile {
  readonly profiler: RecordProfiler;
  private readonly ids: number[] = [];
  private readonly labels: string[] = [];
  private readonly createdDays = new Map<string, number>();
  private readonly favoriteGenres = new Map<string, number>();
  private readonly lengths = new Map<number, number>();
  private readonly refs = new Map<string, { counts: Map<number, number>; notIds: Tally }>();
  private readonly usersWithListens: number[] = [];

  constructor(private readonly source: SourceDescription) {
    this.profiler = new RecordProfiler(source);
    for (const ref of source.references ?? []) this.refs.set(ref.field, { counts: new Map(), notIds: { count: 0, samples: [] } });
  }

  /** A record the run served and stored: profiled, and live. */
  served(key: string, record: Record<string, unknown>): void {
    this.profiler.add(record, key, true);
    this.live(key, record);
  }

  /** A live record the run did not store (served invalid, or not served by an incomplete run). */
  live(key: string, record: Record<string, unknown>): void {
    this.ids.push(Number(key));
    const labelField = LABEL_FIELD[this.source.name];
    if (labelField) this.labels.push(String(record[labelField] ?? ''));
    if (this.source.name === 'users') {
      const created = timeOf(record.created_at);
      if (created !== null) bump(this.createdDays, new Date(created).toISOString().slice(0, 10));
      if (typeof record.favorite_genres === 'string') bump(this.favoriteGenres, record.favorite_genres);
    }
    if (this.source.name === 'listen_history') {
      const items = Array.isArray(record.items) ? record.items.length : 0;
      bump(this.lengths, items);
      if (items > 0 && typeof record.user_id === 'number') this.usersWithListens.push(record.user_id);
    }
    for (const [field, ref] of this.refs) {
      const value = record[field];
      for (const id of Array.isArray(value) ? value : [value]) {
        if (typeof id === 'number') bump(ref.counts, id);
        else {
          ref.notIds.count++;
          if (ref.notIds.samples.length < 5 && !ref.notIds.samples.includes(key)) ref.notIds.samples.push(key);
        }
      }
    }
  }

  toDocument(): LiveProfileDocument {
    const order = this.ids.map((_, i) => i).sort((a, b) => (this.ids[a] as number) - (this.ids[b] as number));
    const doc: LiveProfileDocument = {
      profile: { records: this.profiler.records, newest: this.profiler.newest, fields: this.profiler.fields },
      live: this.ids.length,
      live_ids: toBinary(Float64Array.from(order, (i) => this.ids[i] as number)),
    };
    if (LABEL_FIELD[this.source.name]) {
      const values = [...new Set(this.labels)].sort();
      const index = new Map(values.map((v, i) => [v, i]));
      doc.live_labels = { values, of: toBinary(Uint32Array.from(order, (i) => index.get(this.labels[i] as string) as number)) };
    }
    if (this.source.name === 'users') {
      doc.created_days = Object.fromEntries(this.createdDays);
      doc.favorite_genres = Object.fromEntries(this.favoriteGenres);
    }
    if (this.source.name === 'listen_history') {
      doc.history_lengths = Object.fromEntries([...this.lengths].map(([k, v]) => [String(k), v]));
      doc.users_with_listens = toBinary(Float64Array.from(this.usersWithListens).sort());
    }
    if (this.refs.size > 0) {
      doc.refs = {};
      for (const [field, ref] of this.refs) {
        const ids = Float64Array.from(ref.counts.keys()).sort();
        doc.refs[field] = { ids: toBinary(ids), counts: toBinary(Uint32Array.from(ids, (id) => ref.counts.get(id) as number)), not_ids: ref.notIds };
      }
    }
    return doc;
  }
}

/** Decoded arrays of a stored profile. */
export const liveIds = (doc: LiveProfileDocument): Float64Array => fromBinary(doc.live_ids, Float64Array);
export const liveLabels = (doc: LiveProfileDocument): string[] | null => {
  if (!doc.live_labels) return null;
  const { values } = doc.live_labels;
  return Array.from(fromBinary(doc.live_labels.of, Uint32Array), (i) => values[i] as string);
};
export const referenced = (doc: LiveProfileDocument, field: string): { ids: Float64Array; counts: Uint32Array; notIds: Tally } | null => {
  const ref = doc.refs?.[field];
  return ref ? { ids: fromBinary(ref.ids, Float64Array), counts: fromBinary(ref.counts, Uint32Array), notIds: ref.not_ids } : null;
};
export const usersWithListens = (doc: LiveProfileDocument): Float64Array => (doc.users_with_listens ? fromBinary(doc.users_with_listens, Float64Array) : new Float64Array(0));

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
