import { FAVORITE_GENRES } from '../sources/contract.js';
import { artistName } from './names.js';
import { createRandom } from './random.js';
import type { TasteData } from './taste.js';

/*
 * Taste mode over HTTP: the records of the default mode, drawn the same way (same ids,
 * names, timestamps), with only the fields that carry taste replaced by the taste
 * generator's: a track's artist and genres, a user's favourite genre, a history's items.
 */

/**
 * A track's `genres` in taste mode: the favourite genre as one lowercase word ("rock",
 * "hiphop", "r&b"). The contract keeps track genres free words, not the user list's
 * values; this one still reads as its genre once case and spaces are ignored.
 */
export function tasteGenreWord(genre: number): string {
  return (FAVORITE_GENRES[genre] as string).toLowerCase().replace(/\s+/g, '');
}

/** One distinct name per artist, so that `artist` identifies one: a repeat gets a number. */
export function tasteArtistNames(seed: string, artists: number): string[] {
  const random = createRandom(`${seed}/taste/artist-names`);
  const taken = new Set<string>();
  const names = new Array<string>(artists);
  for (let a = 0; a < artists; a++) {
    const base = artistName(random);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base} ${n}`;
    taken.add(name);
    names[a] = name;
  }
  return names;
}

/** Rewrites the taste fields of records made by dataset.ts (in place; keys keep their order). */
export class TasteRecords {
  private readonly artistNames: string[];

  constructor(
    seed: string,
    readonly taste: TasteData,
  ) {
    this.artistNames = tasteArtistNames(seed, taste.artists);
  }

  /** The track at generation position `index`. */
  track(record: Record<string, unknown>, index: number): Record<string, unknown> {
    record.artist = this.artistNames[this.taste.trackArtist[index] as number];
    record.genres = tasteGenreWord(this.taste.trackGenre[index] as number);
    return record;
  }

  /** The user at generation position `index`. */
  user(record: Record<string, unknown>, index: number): Record<string, unknown> {
    record.favorite_genres = FAVORITE_GENRES[this.taste.userGenre[index] as number];
    return record;
  }

  /** The history row of the user at position `index`: the track ids they listened to, oldest first. */
  history(record: Record<string, unknown>, index: number, trackIds: readonly number[]): Record<string, unknown> {
    const items: number[] = [];
    for (let k = this.taste.offsets[index] as number; k < (this.taste.offsets[index + 1] as number); k++)
      items.push(trackIds[this.taste.items[k] as number] as number);
    record.items = items;
    return record;
  }
}
