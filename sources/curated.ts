import { parseNaiveTimestamp } from './contract.js';
import type { ListenHistory, Track, User } from './schemas.js';

/*
 * The curated layer: typed documents for readers (data scientists, the recommender),
 * rebuilt from the live raw records after each source loads. Naive timestamps become
 * UTC Dates. Only the contract's fields are kept; unknown fields stay in the raw layer.
 */

export interface CuratedTrack {
  _id: string;
  id: number;
  name: string;
  artist: string;
  album: string;
  songwriters: string;
  /** "MM:SS" as served, and in seconds. */
  duration: string;
  duration_seconds: number;
  genres: string;
  created_at: Date;
  updated_at: Date;
}

export interface CuratedUser {
  _id: string;
  id: number;
  first_name: string;
  last_name: string;
  email: string;
  gender: string;
  favorite_genres: string;
  created_at: Date;
  updated_at: Date;
}

/** One listen: a user, a track and its position in the user's history (0 = the oldest). */
export interface CuratedListen {
  /** "<user_id>:<position>". */
  _id: string;
  user_id: number;
  track_id: number;
  position: number;
  /** Timestamps of the user's history row. */
  history_created_at: Date;
  history_updated_at: Date;
}

const utc = (text: unknown): Date => parseNaiveTimestamp(String(text)) as Date;

export function curateTrack(r: Track): CuratedTrack[] {
  const [minutes, seconds] = r.duration.split(':').map(Number) as [number, number];
  return [
    {
      _id: String(r.id),
      id: r.id,
      name: r.name,
      artist: r.artist,
      album: r.album,
      songwriters: r.songwriters,
      duration: r.duration,
      duration_seconds: minutes * 60 + seconds,
      genres: r.genres,
      created_at: utc(r.created_at),
      updated_at: utc(r.updated_at),
    },
  ];
}

export function curateUser(r: User): CuratedUser[] {
  return [
    {
      _id: String(r.id),
      id: r.id,
      first_name: r.first_name,
      last_name: r.last_name,
      email: r.email,
      gender: r.gender,
      favorite_genres: r.favorite_genres,
      created_at: utc(r.created_at),
      updated_at: utc(r.updated_at),
    },
  ];
}

/** The history row exploded: items run from the oldest listen (left) to the newest (right). */
export function curateListenHistory(r: ListenHistory): CuratedListen[] {
  const created = utc(r.created_at);
  const updated = utc(r.updated_at);
  return r.items.map((trackId, position) => ({
    _id: `${r.user_id}:${position}`,
    user_id: r.user_id,
    track_id: trackId,
    position,
    history_created_at: created,
    history_updated_at: updated,
  }));
}
