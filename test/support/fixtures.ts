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
