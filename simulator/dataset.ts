import { CONTRACT_MAX_ID, FAVORITE_GENRES, GENDERS, ITEMS_PER_HISTORY, formatNaiveTimestamp } from '../sources/contract.js';
import { artistName, titleCase, words } from './names.js';
import { createRandom, sampleDistinct, type Random } from './random.js';
import { generateTaste, type TasteData } from './taste.js';
import { TasteRecords } from './tasteRecords.js';
import { EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, WORDS } from './words.js';
import type { SourceName } from '../contracts/names.js';

export interface DatasetOptions {
  seed: string;
  tracks: number;
  users: number;
  /** One row per user, so at most `users`. */
  listenHistory: number;
  /** Taste mode (see taste.ts): users, artists and genres in taste clusters. Absent: uniformly random, as the real service. */
  taste?: boolean;
  /** Taste clusters; default from the catalogue size (defaultClusters). */
  tasteClusters?: number;
}

/**
 * A generated dataset, held as the JSON text of each record in generation order:
 * a page is then a join of strings, which keeps the simulator far from being the
 * bottleneck of any benchmark.
 */
export interface Dataset {
  options: DatasetOptions;
  /** The clean truth, before any knob (invalid records, duplicates, ...) is applied. */
  records: Record<SourceName, string[]>;
  /** Keys deleted by mutations: a new record never takes one back. */
  retired: Record<SourceName, Set<number>>;
  /** Taste mode: the generator's truth (clusters, artists, genres), by generation position. */
  taste?: TasteData;
}

export const DEFAULT_COUNT = 1000;

// Timestamps are drawn from a fixed window so that a seed gives the same dataset on any day.
const WINDOW_START = Date.UTC(2020, 0, 1);
const WINDOW_END = Date.UTC(2025, 0, 1);

/** Ids are drawn from 1..100000 as the real service does, widened only when more records are asked for. */
export function idRange(count: number): number {
  return Math.max(CONTRACT_MAX_ID, 2 * count);
}

export function validateDatasetOptions(options: DatasetOptions): void {
  for (const name of ['tracks', 'users', 'listenHistory'] as const) {
    const n = options[name];
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a whole number >= 0, got ${n}`);
  }
  if (options.listenHistory > options.users) {
    throw new RangeError(`listen history has one row per user: ${options.listenHistory} rows need at least as many users (got ${options.users})`);
  }
  if (options.listenHistory > 0 && options.tracks < ITEMS_PER_HISTORY) {
    throw new RangeError(`listen-history rows hold ${ITEMS_PER_HISTORY} distinct tracks: need at least ${ITEMS_PER_HISTORY} tracks`);
  }
}

export function generateDataset(options: DatasetOptions): Dataset {
  validateDatasetOptions(options);
  // One stream per endpoint: changing one count leaves the other endpoints' records as they were.
  const trackRandom = createRandom(`${options.seed}/tracks`);
  const userRandom = createRandom(`${options.seed}/users`);
  const historyRandom = createRandom(`${options.seed}/listen_history`);

  const trackIds = sampleDistinct(trackRandom, options.tracks, idRange(options.tracks));
  const userIds = sampleDistinct(userRandom, options.users, idRange(options.users));
  // Taste mode draws every record as the default mode does, then rewrites its taste fields.
  const dress = options.taste ? new TasteRecords(options.seed, tasteOf(options)) : undefined;
  const tracks = trackIds.map((id, i) => JSON.stringify(dress ? dress.track(makeTrack(trackRandom, id), i) : makeTrack(trackRandom, id)));
  const users = userIds.map((id, u) => JSON.stringify(dress ? dress.user(makeUser(userRandom, id), u) : makeUser(userRandom, id)));
  const listenHistory = userIds
    .slice(0, options.listenHistory)
    .map((userId, u) =>
      JSON.stringify(
        dress ? dress.history(makeListenHistory(historyRandom, userId, trackIds), u, trackIds) : makeListenHistory(historyRandom, userId, trackIds),
      ),
    );
  const dataset: Dataset = {
    options,
    records: { tracks, users, listen_history: listenHistory },
    retired: { tracks: new Set(), users: new Set(), listen_history: new Set() },
  };
  if (dress) dataset.taste = dress.taste;
  return dataset;
}

/** The taste behind a taste-mode dataset: every user's cluster and a row's worth of listens. */
function tasteOf(options: DatasetOptions): TasteData {
  return generateTaste({
    seed: options.seed,
    users: options.users,
    tracks: options.tracks,
    listensPerUser: ITEMS_PER_HISTORY,
    fixedLength: true,
    clusters: options.tasteClusters,
  });
}

export function makeTrack(random: Random, id: number): Record<string, unknown> {
  return {
    id,
    name: titleCase(words(random, 1 + random.int(3))),
    artist: artistName(random),
    songwriters: `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`,
    duration: `${two(random.int(60))}:${two(random.int(60))}`,
    genres: random.pick(WORDS),
    album: titleCase(words(random, 1 + random.int(3))),
    created_at: timestamp(random),
    updated_at: timestamp(random),
  };
}

export function makeUser(random: Random, id: number): Record<string, unknown> {
  const first = random.pick(FIRST_NAMES);
  const last = random.pick(LAST_NAMES);
  const suffix = random.int(4) === 0 ? String(random.int(100)) : '';
  return {
    id,
    first_name: first,
    last_name: last,
    email: `${first}.${last}${suffix}@${random.pick(EMAIL_DOMAINS)}`.toLowerCase(),
    gender: random.pick(GENDERS),
    favorite_genres: random.pick(FAVORITE_GENRES),
    created_at: timestamp(random),
    updated_at: timestamp(random),
  };
}

/** One user's row: 5 distinct tracks, oldest listen first; updated_at >= created_at. */
export function makeListenHistory(random: Random, userId: number, trackIds: readonly number[]): Record<string, unknown> {
  const items = sampleDistinct(random, ITEMS_PER_HISTORY, trackIds.length).map((n) => trackIds[n - 1]);
  const created = randomInstant(random);
  const updated = created + random.int(WINDOW_END - created);
  return {
    user_id: userId,
    items,
    created_at: formatNaiveTimestamp(new Date(created - (created % 1000))),
    updated_at: formatNaiveTimestamp(new Date(updated - (updated % 1000))),
  };
}

/** A timestamp in the generation window, as the API writes it. */
export function timestamp(random: Random): string {
  const t = randomInstant(random);
  return formatNaiveTimestamp(new Date(t - (t % 1000)));
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function randomInstant(random: Random): number {
  return WINDOW_START + random.int(WINDOW_END - WINDOW_START);
}
