import { formatNaiveTimestamp, parseNaiveTimestamp } from '../sources/contract.js';
import { idRange, makeListenHistory, makeTrack, makeUser, timestamp, type Dataset } from './dataset.js';
import { createRandom, type Random } from './random.js';
import { SOURCE_NAMES, type SourceName } from '../contracts/names.js';

/**
 * Data knobs: what a bad day does to the records themselves. They are applied to the
 * clean dataset to give the records served, deterministically for a seed, so a test
 * knows exactly which records are invalid, which carry unknown fields and which ids
 * repeat.
 */
export interface DataKnobs {
  /** Fraction (0..1) of records served invalid: null or missing id, wrong type, bad timestamp, ... */
  invalidRate?: number;
  /** Fraction (0..1) of records served with an unknown extra field (schema drift). */
  extraFieldRate?: number;
  /** Records per endpoint served with the id of a record on an earlier page ("one id on two pages"). */
  duplicateIds?: number;
  /** Fraction of users served with a gender or favourite genre outside the contract's value sets. */
  unexpectedValueRate?: number;
  /** Fraction of listen-history rows pointing at a user, or a track, that does not exist. */
  orphanRate?: number;
  /** Fraction of records served with a value left empty ("" or an empty list): still valid. */
  emptyRate?: number;
  /** Every `updated_at` served this many days earlier: a stale snapshot. */
  ageDays?: number;
}

/** Ids no generated record takes: what an orphan points at. */
export const ORPHAN_ID_BASE = 900_000_000;

/** What the knobs did, per endpoint: positions in generation order. */
export interface KnobReport {
  invalid: number[];
  extraField: number[];
  unexpectedValue: number[];
  orphan: number[];
  empty: number[];
  /** [position of the copy, position of the record whose id it repeats]. */
  duplicates: [number, number][];
}

/** A snapshot change, in percent of each endpoint's records. */
export interface Mutation {
  updated: number;
  deleted: number;
  added: number;
}

export interface MutationReport {
  updated: number;
  deleted: number;
  added: number;
}

const KEY_FIELD: Record<SourceName, string> = { tracks: 'id', users: 'id', listen_history: 'user_id' };

/** The records to serve: the clean ones with the knobs applied. */
export function applyKnobs(dataset: Dataset, knobs: DataKnobs, seed: string): { served: Record<SourceName, string[]>; report: Record<SourceName, KnobReport> } {
  const served = {} as Record<SourceName, string[]>;
  const report = {} as Record<SourceName, KnobReport>;
  const none = (): KnobReport => ({ invalid: [], extraField: [], unexpectedValue: [], orphan: [], empty: [], duplicates: [] });
  if (
    !knobs.invalidRate &&
    !knobs.extraFieldRate &&
    !knobs.duplicateIds &&
    !knobs.unexpectedValueRate &&
    !knobs.orphanRate &&
    !knobs.emptyRate &&
    !knobs.ageDays
  ) {
    // No knob: serve the clean records as they are (no copy: a mutation shows at once).
    for (const name of SOURCE_NAMES) {
      served[name] = dataset.records[name];
      report[name] = none();
    }
    return { served, report };
  }
  for (const name of SOURCE_NAMES) {
    const random = createRandom(`${seed}/knobs/${name}`);
    const quality = createRandom(`${seed}/quality-knobs/${name}`);
    const records = [...dataset.records[name]];
    const r: KnobReport = none();
    const count = records.length;

    // Duplicates first: the copy keeps its own fields, only its id repeats an earlier record's.
    for (let d = 0; d < Math.min(knobs.duplicateIds ?? 0, Math.floor(count / 2)); d++) {
      const copy = count - 1 - d * 2;
      const original = random.int(Math.max(1, copy - 100));
      const record = JSON.parse(records[copy] as string) as Record<string, unknown>;
      record[KEY_FIELD[name]] = (JSON.parse(records[original] as string) as Record<string, unknown>)[KEY_FIELD[name]];
      records[copy] = JSON.stringify(record);
      r.duplicates.push([copy, original]);
    }
    const duplicated = new Set(r.duplicates.flat());

    for (let i = 0; i < count; i++) {
      if (duplicated.has(i)) continue;
      if (random.next() < (knobs.invalidRate ?? 0)) {
        records[i] = JSON.stringify(corrupt(name, JSON.parse(records[i] as string) as Record<string, unknown>, r.invalid.length));
        r.invalid.push(i);
      } else if (random.next() < (knobs.extraFieldRate ?? 0)) {
        const record = JSON.parse(records[i] as string) as Record<string, unknown>;
        record[r.extraField.length % 2 === 0 ? 'explicit' : 'bpm'] = r.extraField.length % 2 === 0 ? random.int(2) === 1 : 60 + random.int(120);
        records[i] = JSON.stringify(record);
        r.extraField.push(i);
      }
    }
    // Defects of valid records, drawn from a stream of their own so that the knobs above
    // pick the same records whether or not these are set.
    const invalid = new Set(r.invalid);
    for (let i = 0; i < count; i++) {
      if (duplicated.has(i) || invalid.has(i)) continue;
      const record = JSON.parse(records[i] as string) as Record<string, unknown>;
      let changed = false;
      if (name === 'users' && quality.next() < (knobs.unexpectedValueRate ?? 0)) {
        if (r.unexpectedValue.length % 2 === 0) record.gender = 'Unspecified';
        else record.favorite_genres = 'Polka';
        r.unexpectedValue.push(i);
        changed = true;
      }
      if (name === 'listen_history' && quality.next() < (knobs.orphanRate ?? 0)) {
        if (r.orphan.length % 2 === 0) record.user_id = ORPHAN_ID_BASE + i;
        else record.items = [...(record.items as number[]).slice(0, -1), ORPHAN_ID_BASE + i];
        r.orphan.push(i);
        changed = true;
      }
      if (quality.next() < (knobs.emptyRate ?? 0)) {
        if (name === 'tracks') record.songwriters = '';
        else if (name === 'users') record.email = '';
        else record.items = [];
        r.empty.push(i);
        changed = true;
      }
      if (knobs.ageDays && typeof record.updated_at === 'string') {
        const at = parseNaiveTimestamp(record.updated_at);
        if (at) record.updated_at = formatNaiveTimestamp(new Date(at.getTime() - knobs.ageDays * 86_400_000));
        changed = true;
      }
      if (changed) records[i] = JSON.stringify(record);
    }
    served[name] = records;
    report[name] = r;
  }
  return { served, report };
}

/** One of the ways a record breaks the contract, in turn. */
function corrupt(name: SourceName, record: Record<string, unknown>, n: number): Record<string, unknown> {
  const key = KEY_FIELD[name];
  const defects: ((r: Record<string, unknown>) => void)[] = [
    (r) => (r[key] = null),
    (r) => delete r[key],
    (r) => (r[key] = String(r[key])),
    (r) => (r.created_at = '2021-02-30T10:00:00'),
    name === 'listen_history' ? (r) => (r.items = '1,2,3') : (r) => (r[name === 'tracks' ? 'name' : 'email'] = 12345),
    name === 'listen_history' ? (r) => (r.items = [1, 'two', 3]) : (r) => (r.updated_at = null),
  ];
  (defects[n % defects.length] as (r: Record<string, unknown>) => void)(record);
  return record;
}

/**
 * Changes the clean dataset as a restart of the real service might, but partly:
 * `updated` % of records get new field values, `deleted` % disappear, and `added` %
 * new records (with ids not used before) are appended. Listen-history rows follow
 * users: a new row only for a user who has none.
 */
export function mutateDataset(dataset: Dataset, mutation: Mutation, seed: string): Record<SourceName, MutationReport> {
  const report = {} as Record<SourceName, MutationReport>;
  // The live track ids, parsed once per source (the tracks are mutated first): parsed per
  // changed history, 2,000 changes over 50,000 tracks took minutes.
  let ids: number[] | undefined;
  const trackIds = () => (ids ??= dataset.records.tracks.map((t) => (JSON.parse(t) as { id: number }).id));
  for (const name of SOURCE_NAMES) {
    ids = undefined;
    const random = createRandom(`${seed}/mutate/${name}`);
    const records = dataset.records[name];
    const r: MutationReport = { updated: 0, deleted: 0, added: 0 };
    const pick = (percent: number) => Math.round((records.length * percent) / 100);

    const deleted = new Set<number>();
    while (deleted.size < Math.min(pick(mutation.deleted), records.length)) deleted.add(random.int(records.length));
    const updated = new Set<number>();
    while (updated.size < Math.min(pick(mutation.updated), records.length - deleted.size)) {
      const i = random.int(records.length);
      if (!deleted.has(i)) updated.add(i);
    }
    for (const i of updated) records[i] = JSON.stringify(change(name, JSON.parse(records[i] as string) as Record<string, unknown>, random, trackIds));
    r.updated = updated.size;
    const added = pick(mutation.added);
    // Keys of the records deleted now retire: a new record never takes one back.
    for (const i of deleted) dataset.retired[name].add((JSON.parse(records[i] as string) as Record<string, number>)[KEY_FIELD[name]] as number);
    dataset.records[name] = records.filter((_, i) => !deleted.has(i));
    r.deleted = deleted.size;

    const used = new Set(dataset.records[name].map((t) => (JSON.parse(t) as Record<string, number>)[KEY_FIELD[name]]));
    for (const key of dataset.retired[name]) used.add(key);
    if (name === 'listen_history') {
      const tracks = trackIds();
      const users = dataset.records.users.map((u) => (JSON.parse(u) as { id: number }).id).filter((id) => !used.has(id));
      for (const userId of users.slice(0, added)) {
        dataset.records.listen_history.push(JSON.stringify(makeListenHistory(random, userId, tracks)));
        r.added++;
      }
    } else {
      const range = idRange(records.length + added);
      for (let n = 0; n < added; n++) {
        let id = 1 + random.int(range);
        while (used.has(id)) id = 1 + random.int(range);
        used.add(id);
        dataset.records[name].push(JSON.stringify(name === 'tracks' ? makeTrack(random, id) : makeUser(random, id)));
        r.added++;
      }
    }
    report[name] = r;
  }
  return report;
}

function change(name: SourceName, record: Record<string, unknown>, random: Random, trackIds: () => number[]): Record<string, unknown> {
  record.updated_at = timestamp(random);
  if (name === 'tracks') record.name = `${String(record.name)} (Remastered)`;
  else if (name === 'users') record.email = `changed.${String(record.email)}`;
  else {
    const ids = trackIds();
    const items = record.items as number[];
    // The newest listen (rightmost) is replaced by another track not yet in the row.
    let next = ids[random.int(ids.length)] as number;
    while (items.includes(next)) next = ids[random.int(ids.length)] as number;
    record.items = [...items.slice(1), next];
  }
  return record;
}

/** Parses "updated=5,deleted=2,added=3" (percentages). */
export function parseMutation(text: string): Mutation {
  const m: Mutation = { updated: 0, deleted: 0, added: 0 };
  for (const pair of text.split(',')) {
    const [key, value] = pair.split('=').map((s) => s.trim());
    if (key !== 'updated' && key !== 'deleted' && key !== 'added') throw new Error(`--mutate: unknown key "${key}" (updated, deleted, added)`);
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n > 100) throw new Error(`--mutate: ${key} must be a percentage 0-100, got "${value}"`);
    m[key] = n;
  }
  return m;
}
