/** How recommendations are computed and kept; from the environment (see docs/configuration.md). */
export interface RecommendSettings {
  /** Tracks stored per user (the API serves up to this many). */
  k: number;
  /** A cold-start track of the user's favourite genre counts its listens times this. */
  genreBoost: number;
  /** Users per scoring activity. */
  chunkSize: number;
  /** Published batches kept (the active one and those before it); at least 2, for rollback. */
  keepBatches: number;
  /** Scoring threads per worker process. */
  threads: number;
  /** Hours the auto MostPopular fallback is reused by incremental runs before it is fitted again (0: every run). */
  fallbackRefreshHours: number;
  /** Overlays a batch may read through before a full batch is written again (0: always full). */
  maxOverlays: number;
  /** Share of live users the overlays of a chain may hold together before a full batch is written again. */
  maxOverlayShare: number;
  /**
   * Tracks stored per list beyond k, served only in place of tracks deleted since: a
   * deleted track then changes no list that still has k live tracks, instead of every
   * list it was in (a popular track is in most of them).
   */
  spares: number;
}
