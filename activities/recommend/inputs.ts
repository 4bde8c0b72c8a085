import { FAVORITE_GENRES } from '../../sources/contract.js';

/** Genre words compared without case, spaces or punctuation: "Hip Hop" = "hip-hop" = "hiphop". */
export const normalizeGenre = (text: string): string => text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');

const CODES = new Map(FAVORITE_GENRES.map((g, i) => [normalizeGenre(g), i + 1]));

/** 1.. for one of the contract's favourite genres, 0 for anything else. */
export function genreCode(text: unknown): number {
  return typeof text === 'string' ? (CODES.get(normalizeGenre(text)) ?? 0) : 0;
}

/**
 * What a user's list depends on, besides the model and the catalogue: the listened
 * tracks in order and the favourite genre. Two FNV-1a lanes make a 64-bit hash.
 */
export function inputHash(items: ArrayLike<number>, genre: number, out: Uint32Array, at: number): void {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  const mix = (value: number) => {
    for (let shift = 0; shift < 53; shift += 8) {
      const byte = Math.floor(value / 2 ** shift) & 0xff;
      a = Math.imul(a ^ byte, 0x01000193) >>> 0;
      b = Math.imul(b ^ byte, 0x01000193 + 2) >>> 0;
    }
  };
  mix(genre);
  mix(items.length);
  for (let i = 0; i < items.length; i++) mix(items[i] as number);
  out[2 * at] = a;
  out[2 * at + 1] = b;
}
