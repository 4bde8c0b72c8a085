import type { SourceDescription } from '../../sources/index.js';
import { note, RecordProfiler, type FieldProfile, type Tally } from './profile.js';
import type { RecordFacts } from './recordFacts.js';

/**
 * What the live profile computes from a record's facts, as a number: a merge that repeats
 * the pages of an earlier one copies that merge's profile (merge/repeatPages.ts) only
 * when both computed it the same way. Bump it whenever the profile's definition changes.
 */
export const LIVE_PROFILE_VERSION = 1;

/**
 * What the health checks need of a source's live records, gathered by the merge while it
 * holds each of them anyway: the field profile of the records the run served, and the
 * aggregates of every live record (counts, per-day and per-genre tallies). The checks read
 * this, and the ids records point at from the key indexes, instead of every record.
 */
export interface LiveProfileDocument {
  /** Records the run served and stored (valid, first copy of each key). */
  profile: { records: number; newest: number | null; fields: Record<string, FieldProfile> };
  /** Live records after the merge. */
  live: number;
  /** users: live users by the UTC day they were created, and by favourite genre. */
  created_days?: Record<string, number>;
  favorite_genres?: Record<string, number>;
  /** listen_history: live histories by length. */
  history_lengths?: Record<string, number>;
  /** Per reference field: values that are not ids at all (each counts as an orphan). */
  not_ids?: Record<string, Tally>;
}

export class LiveProfile {
  readonly profiler: RecordProfiler;
  private liveRecords = 0;
  private readonly createdDays = new Map<string, number>();
  private readonly favoriteGenres = new Map<string, number>();
  private readonly lengths = new Map<number, number>();
  private readonly notIds = new Map<string, Tally>();

  constructor(private readonly source: SourceDescription) {
    this.profiler = new RecordProfiler(source);
    for (const ref of source.references ?? []) this.notIds.set(ref.field, { count: 0, samples: [] });
  }

  /** A record the run served and stored, by its facts (recordFacts.ts): profiled, and live. */
  servedFacts(key: string, facts: RecordFacts): void {
    this.profiler.addFacts(key, facts);
    this.liveFacts(key, facts);
  }

  /** A live record the run did not store (served invalid, or not served by an incomplete run). */
  liveFacts(key: string, facts: RecordFacts): void {
    this.liveRecords++;
    if (facts.created !== null) bump(this.createdDays, facts.created);
    if (facts.genre !== null) bump(this.favoriteGenres, facts.genre);
    if (facts.length !== null) bump(this.lengths, facts.length);
    let r = 0;
    for (const tally of this.notIds.values()) {
      const n = facts.notIds[r++] as number;
      if (n > 0) note(tally, key, n);
    }
  }

  toDocument(): LiveProfileDocument {
    const doc: LiveProfileDocument = {
      profile: { records: this.profiler.records, newest: this.profiler.newest, fields: this.profiler.fields },
      live: this.liveRecords,
    };
    if (this.source.name === 'users') {
      doc.created_days = Object.fromEntries(this.createdDays);
      doc.favorite_genres = Object.fromEntries(this.favoriteGenres);
    }
    if (this.source.name === 'listen_history') doc.history_lengths = Object.fromEntries([...this.lengths].map(([k, v]) => [String(k), v]));
    if (this.notIds.size > 0) doc.not_ids = Object.fromEntries(this.notIds);
    return doc;
  }
}

function bump<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
