/**
 * Facts of the Moovitamix API contract (../shared/docs/moovitamix-api.md) shared by
 * the simulator, the ingest schemas and the tests, so that they cannot drift apart.
 */

export const GENDERS = [
  'Male',
  'Female',
  'Non-binary',
  'Genderqueer',
  'Genderfluid',
  'Agender',
  'Bigender',
  'Gender questioning',
  'Gender nonconforming',
] as const;

export const FAVORITE_GENRES = [
  'Rock',
  'Pop',
  'Hip Hop',
  'Jazz',
  'Electronic',
  'Classical',
  'Country',
  'Blues',
  'R&B',
  'Reggae',
  'Folk',
  'Metal',
  'Punk',
  'Funk',
  'Indie',
  'Alternative',
  'Techno',
] as const;

/** Query parameters of every list endpoint. */
export const PAGE_MIN = 1;
export const SIZE_MIN = 1;
export const SIZE_MAX = 100;
export const SIZE_DEFAULT = 100;

/** Ids of the real service are drawn from 1..100000. */
export const CONTRACT_MAX_ID = 100_000;

/** Listen-history rows hold this many distinct track ids. */
export const ITEMS_PER_HISTORY = 5;

/** "YYYY-MM-DDTHH:MM:SS": naive ISO 8601, no zone, no fraction. */
export const NAIVE_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

/** "MM:SS", minutes and seconds 00-59. */
export const DURATION = /^[0-5]\d:[0-5]\d$/;

/**
 * Reads a naive timestamp as UTC. The API gives no zone; we store UTC so that a
 * value means the same instant whatever the zone of the machine that reads it.
 * Returns null for text that is not a real calendar instant (e.g. 2023-02-30).
 */
export function parseNaiveTimestamp(text: string): Date | null {
  const m = NAIVE_TIMESTAMP.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  const roundTrips =
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  return roundTrips ? date : null;
}

/** The inverse of parseNaiveTimestamp. */
export function formatNaiveTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19);
}
