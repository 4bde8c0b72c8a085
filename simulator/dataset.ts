import { CONTRACT_MAX_ID, FAVORITE_GENRES, GENDERS, ITEMS_PER_HISTORY, formatNaiveTimestamp } from '../sources/contract.js';
import type { SourceName } from '../sources/index.js';
import { createRandom, sampleDistinct, type Random } from './random.js';
import { EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, WORDS } from './words.js';

export interface DatasetOptions {
  seed: string;
  tracks: number;
  users: number;
  /** One row per user, so at most `users`. */
  listenHistory: number;
}

/**
 * A generated dataset, held as the JSON text of each record in generation order:
 * a page is then a join of strings, which keeps the simulator far from being the
 * bottleneck of any benchmark.
 */
export interface Dataset {
  options: DatasetOptions;
  records: Readonly<Record<SourceName, readonly string[]>>;
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
    throw new RangeError(
      `listen history has one row per user: ${options.listenHistory} rows need at least as many users (got ${options.users})`,
    );
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

  const tracks = trackIds.map((id) =>
    JSON.stringify({
      id,
      name: titleCase(words(trackRandom, 1 + trackRandom.int(3))),
      artist: artistName(trackRandom),
      songwriters: `${trackRandom.pick(FIRST_NAMES)} ${trackRandom.pick(LAST_NAMES)}`,
      duration: `${two(trackRandom.int(60))}:${two(trackRandom.int(60))}`,
      genres: trackRandom.pick(WORDS),
      album: titleCase(words(trackRandom, 1 + trackRandom.int(3))),
      created_at: timestamp(trackRandom),
      updated_at: timestamp(trackRandom),
    }),
  );

  const users = userIds.map((id) => {
    const first = userRandom.pick(FIRST_NAMES);
    const last = userRandom.pick(LAST_NAMES);
    const suffix = userRandom.int(4) === 0 ? String(userRandom.int(100)) : '';
    return JSON.stringify({
      id,
      first_name: first,
      last_name: last,
      email: `${first}.${last}${suffix}@${userRandom.pick(EMAIL_DOMAINS)}`.toLowerCase(),
      gender: userRandom.pick(GENDERS),
      favorite_genres: userRandom.pick(FAVORITE_GENRES),
      created_at: timestamp(userRandom),
      updated_at: timestamp(userRandom),
    });
  });

  const listenHistory: string[] = new Array(options.listenHistory);
  for (let i = 0; i < options.listenHistory; i++) {
    const items = sampleDistinct(historyRandom, ITEMS_PER_HISTORY, trackIds.length).map((n) => trackIds[n - 1]);
    const created = randomInstant(historyRandom);
    const updated = created + historyRandom.int(WINDOW_END - created);
    listenHistory[i] = JSON.stringify({
      user_id: userIds[i],
      items,
      created_at: formatNaiveTimestamp(new Date(created - (created % 1000))),
      updated_at: formatNaiveTimestamp(new Date(updated - (updated % 1000))),
    });
  }

  return { options, records: { tracks, users, listen_history: listenHistory } };
}

function words(random: Random, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(random.pick(WORDS));
  return out.join(' ');
}

function titleCase(text: string): string {
  return text.replace(/\b[a-z]/g, (c) => c.toUpperCase());
}

function artistName(random: Random): string {
  switch (random.int(3)) {
    case 0:
      return `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
    case 1:
      return `The ${titleCase(random.pick(WORDS))} ${titleCase(random.pick(WORDS))}s`;
    default:
      return titleCase(words(random, 2));
  }
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function randomInstant(random: Random): number {
  return WINDOW_START + random.int(WINDOW_END - WINDOW_START);
}

function timestamp(random: Random): string {
  const t = randomInstant(random);
  return formatNaiveTimestamp(new Date(t - (t % 1000)));
}
