import type { SourceDescription } from '../../sources/index.js';
import { note, RecordProfiler } from './profile.js';
import { curatedDocumentsOf, type RecordFacts } from './recordFacts.js';
import type { Tally } from '../../contracts/health.js';
import type { LiveProfileDocument } from '../../contracts/health.js';

/**
 * What the live profile computes from a record's facts, as a number: a merge that repeats
 * the pages of an earlier one copies that merge's profile (merge/repeatPages.ts) only
 * when both computed it the same way. Bump it whenever the profile's definition changes.
 */
export const LIVE_PROFILE_VERSION = 1;

export class LiveProfile {
  readonly profiler: RecordProfiler;
  private liveRecords = 0;
  private curated = 0;
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
    this.curated += curatedDocumentsOf(facts);
    if (facts.created !== null) bump(this.createdDays, facts.created);
    if (facts.genre !== null) bump(this.favoriteGenres, facts.genre);
    if (facts.length !== null) bump(this.lengths, facts.length);
    let r = 0;
    for (const tally of this.notIds.values()) {
      const n = facts.notIds[r++] as number;
      if (n > 0) note(tally, key, n);
    }
  }

  /** The curated documents of the live records: the curated collection's size. */
  get curatedDocuments(): number {
    return this.curated;
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
