import { emptyFetchStats, emptyMergeStats, type SourceSummary } from '../../contracts/ingest.js';

/** A valid track as the API serves it; `extra` adds or overrides fields. */
export function track(id: number, extra: Record<string, unknown> = {}): { id: number } & Record<string, unknown> {
  return {
    id,
    name: `Track ${id}`,
    artist: 'A',
    songwriters: 'W',
    duration: '03:30',
    genres: 'wave',
    album: 'B',
    created_at: '2022-01-01T00:00:00',
    updated_at: '2022-06-01T00:00:00',
    ...extra,
  };
}

/** A valid user as the API serves it; `extra` adds or overrides fields. */
export function user(id: number, extra: Record<string, unknown> = {}): { id: number } & Record<string, unknown> {
  return {
    id,
    first_name: 'A',
    last_name: 'B',
    email: `${id}@x`,
    gender: 'Female',
    favorite_genres: 'Rock',
    created_at: '2024-01-01T10:00:00',
    updated_at: '2024-06-01T00:00:00',
    ...extra,
  };
}

/** A source's run summary: 100 records fetched and inserted, complete; `extra` overrides. */
export function summary(extra: Partial<SourceSummary> = {}): SourceSummary {
  return {
    status: 'COMPLETED',
    ...emptyFetchStats(),
    ...emptyMergeStats(),
    totalAtStart: 100,
    totalAtEnd: 100,
    pagesPlanned: 1,
    pages: 1,
    fetched: 100,
    valid: 100,
    inserted: 100,
    complete: true,
    incompleteReason: null,
    merged: true,
    fetchMs: 1,
    mergeMs: 1,
    durationMs: 2,
    recordsPerSecond: 1,
    requestsPerSecond: 1,
    ...extra,
  };
}
