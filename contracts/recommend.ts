import type { ModelFamily } from './names.js';
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

/** What identifies a model in the registry and in every recommendation it made. */
export interface ModelRef {
  /** `<name>@<version>` for a registered model, `most-popular@<content hash>` for the fallback. */
  key: string;
  name: string;
  version: string;
  family: ModelFamily;
}

export type Slot = 'active' | 'challenger';

/** full: a document per live user; overlay: the computed users' lists and removal markers over its base's layers. */
export type BatchLayout = 'full' | 'overlay';

/** What the workflow needs to fan out: counts and ids only. */
export interface BatchPlan {
  batchId: string;
  collection: string;
  model: ModelRef;
  mode: 'full' | 'incremental';
  slot: Slot;
  baseBatchId: string | null;
  /** Why every user is computed when the mode was incremental. */
  fullBecause: string | null;
  chunks: number;
  users: number;
  toCompute: number;
  toCarry: number;
  /**
   * Nothing to publish: no user to compute or remove, the same model and settings. No
   * chunk is scored; the active batch (`baseBatchId`) stays. Absent in plans recorded
   * before overlays: false.
   */
  unchanged?: boolean;
  /** full: a document per live user; overlay: only computed users and removal markers. Absent: full. */
  layout?: BatchLayout;
  /** Why an incremental run over a base wrote a full batch anyway (the overlay chain was compacted). */
  compactBecause?: string | null;
  /** Users the base served who are no longer live (removal markers in an overlay). */
  removed?: number;
}

export interface PublishOutcome {
  batchId: string;
  users: number;
  computed: number;
  carried: number;
  coldStart: number;
  /** The batch that was active before: what `recommend rollback` returns to. */
  previousBatchId: string | null;
  /** Documents its own collection holds: every user's list (full), or the computed lists and removal markers (overlay). */
  documents: number;
}
