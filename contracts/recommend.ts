// What a recommend run takes and returns: read by the daily run, its run record, the CLI and the service.

/** Users a run may be asked to recompute by id (more: run a full batch). */
export const MAX_RECOMPUTE_USERS = 10_000;

export interface RecommendResult {
  /**
   * published: a new batch is active; unchanged: no user's inputs, the live users, the model
   * and the settings changed, so nothing was written and the active batch stays.
   */
  status: 'published' | 'unchanged';
  /** The batch active after the run: the new one, or for an unchanged run the one that stayed. */
  batchId: string;
  /** An unchanged run's own record in recommendation_batches (it holds no lists). */
  recordId?: string;
  /** full: a list per live user written; overlay: only computed users' lists and removal markers. */
  layout?: 'full' | 'overlay';
  /** Why an incremental run wrote a full batch over its base (the overlay chain was compacted). */
  compactBecause?: string | null;
  /** Per-user documents written: lists and removal markers (0 for an unchanged run). */
  documents?: number;
  /** Users the base served who are no longer live (an overlay marks them). */
  removed?: number;
  /** The pointer it was published to. */
  slot: 'active' | 'challenger';
  model: string;
  mode: 'full' | 'incremental';
  /** Why an incremental run computed everyone (no active batch, a new model), else null. */
  fullBecause: string | null;
  chunks: number;
  users: number;
  computed: number;
  carried: number;
  coldStart: number;
  previousBatchId: string | null;
  pruned: string[];
  durationMs: number;
}
