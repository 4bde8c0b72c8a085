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

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Reads a naive timestamp as UTC. The API gives no zone; we store UTC so that a
 * value means the same instant whatever the zone of the machine that reads it.
 * Returns null for text that is not a real calendar instant (e.g. 2023-02-30).
 * Parsed by hand: every record has two, validated and curated.
 */
export function parseNaiveTimestamp(text: string): Date | null {
  if (
    text.length !== 19 ||
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  ) {
    return null;
  }
  const y = digits(text, 0, 4);
  const mo = digits(text, 5, 2);
  const d = digits(text, 8, 2);
  const h = digits(text, 11, 2);
  const mi = digits(text, 14, 2);
  const s = digits(text, 17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return null;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > (mo === 2 && leap ? 29 : (DAYS_IN_MONTH[mo - 1] as number))) return null;
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** The number written by `length` ASCII digits at `start`; -1 if any is not a digit. */
function digits(text: string, start: number, length: number): number {
  let n = 0;
  for (let i = start; i < start + length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** The inverse of parseNaiveTimestamp. */
export function formatNaiveTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19);
}
