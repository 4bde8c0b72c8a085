import { AlsFoldIn } from './alsFoldIn.js';
import { BECAUSE_SLOTS, REASON_CODE, type RecommenderModel } from './types.js';

/** What scoring needs beside the model: today's catalogue and the run's settings. */
export interface ScoringContext {
  model: RecommenderModel;
  /** 1 when item i's track is live in the catalogue now: only live tracks are recommended. */
  live: Uint8Array;
  /** The favourite-genre code (1..) item i's track matches, 0 for none. */
  itemGenre: Uint8Array;
  /** Tracks per user. */
  k: number;
  /** A cold-start track of the user's favourite genre counts its listens times this. */
  genreBoost: number;
  /**
   * Whether each recommendation names the heard tracks behind it (`because`; default true).
   * Offline evaluation reads only the ranks: without the bookkeeping, item-kNN at thousands
   * of neighbours scores several times faster.
   */
  explain?: boolean;
}

/** The users of one chunk to score: histories as model item indices, oldest first. */
export interface ScoringInput {
  n: number;
  histOffsets: Int32Array;
  histItems: Int32Array;
  /** The user's favourite-genre code (1..), 0 when none or unknown. */
  genre: Uint8Array;
}

/** Up to k recommendations per user, best first; `because` holds item indices, -1 for none. */
export interface ScoredChunk {
  offsets: Int32Array;
  items: Int32Array;
  scores: Float32Array;
  reasons: Uint8Array;
  because: Int32Array;
  coldStart: Uint8Array;
}

/**
 * Scores users against one model. It holds scratch rows the size of the catalogue, so
 * keep one per thread and reuse it for every chunk scored with the same context.
 */
export class Scorer {
  private readonly nItems: number;
  private readonly score: Float32Array;
  private readonly stamp: Int32Array;
  private readonly heard: Int32Array;
  private readonly voted: Int32Array;
  private readonly touched: Int32Array;
  private readonly contributors: Int32Array;
  private readonly contributions: Float32Array;
  /** Live items, most listened first (ties: the lower index). */
  private readonly popular: Int32Array;
  /** The same order, per favourite-genre code. */
  private readonly popularByGenre = new Map<number, Int32Array>();
  /** als and ease: the user's distinct heard items (first listen order), their listens, and where each sits in that list. */
  private readonly distinct: Int32Array;
  private readonly distinctListens: Float32Array;
  private readonly slot: Int32Array;
  private readonly foldIn: AlsFoldIn | undefined;
  private pass = 0;

  constructor(private readonly ctx: ScoringContext) {
    const n = ctx.model.itemIds.length;
    this.nItems = n;
    this.score = new Float32Array(n);
    this.stamp = new Int32Array(n);
    this.heard = new Int32Array(n);
    this.voted = new Int32Array(n);
    this.touched = new Int32Array(n);
    this.contributors = new Int32Array(n * BECAUSE_SLOTS).fill(-1);
    this.contributions = new Float32Array(n * BECAUSE_SLOTS);
    const pop = ctx.model.popularity;
    const live: number[] = [];
    for (let i = 0; i < n; i++) if (ctx.live[i] === 1) live.push(i);
    live.sort((a, b) => (pop[b] as number) - (pop[a] as number) || a - b);
    this.popular = Int32Array.from(live);
    const family = ctx.model.family;
    const dense = family === 'als' || family === 'ease';
    this.distinct = new Int32Array(dense ? n : 0);
    this.distinctListens = new Float32Array(dense ? n : 0);
    this.slot = new Int32Array(dense ? n : 0);
    this.foldIn = family === 'als' ? new AlsFoldIn(ctx.model) : undefined;
    if (family === 'ease' && ctx.model.weights?.length !== n * n)
      throw new Error(`ease model: expected ${n} x ${n} weights, got ${ctx.model.weights?.length ?? 'none'}`);
  }

  scoreChunk(input: ScoringInput): ScoredChunk {
    const k = this.ctx.k;
    const offsets = new Int32Array(input.n + 1);
    const items = new Int32Array(input.n * k);
    const scores = new Float32Array(input.n * k);
    const reasons = new Uint8Array(input.n * k);
    const because = new Int32Array(input.n * k * BECAUSE_SLOTS).fill(-1);
    const coldStart = new Uint8Array(input.n);
    let at = 0;
    for (let u = 0; u < input.n; u++) {
      const from = input.histOffsets[u] as number;
      const to = input.histOffsets[u + 1] as number;
      const heardPass = ++this.pass;
      for (let p = from; p < to; p++) this.heard[input.histItems[p] as number] = heardPass;
      const out: Output = { items, scores, reasons, because, start: at, at, heardPass };
      if (to === from) {
        coldStart[u] = 1;
        at = this.coldStart(out, input.genre[u] as number);
      } else if (this.ctx.model.family === 'item-knn' || this.ctx.model.family === 'rp3beta') {
        at = this.similar(out, input.histItems, from, to);
      } else if (this.ctx.model.family === 'als') {
        at = this.taste(out, input.histItems, from, to);
      } else if (this.ctx.model.family === 'ease') {
        at = this.ease(out, input.histItems, from, to);
      } else {
        at = this.pad(out, REASON_CODE.popular);
      }
      offsets[u + 1] = at;
    }
    return {
      offsets,
      items: items.slice(0, at),
      scores: scores.slice(0, at),
      reasons: reasons.slice(0, at),
      because: because.slice(0, at * BECAUSE_SLOTS),
      coldStart,
    };
  }

  /** Item-kNN: each listened item votes for its neighbours with their similarity. */
  private similar(out: Output, hist: Int32Array, from: number, to: number): number {
    const model = this.ctx.model;
    const nOffsets = model.neighborOffsets as Int32Array;
    const neighbors = model.neighbors as Int32Array;
    const sims = model.similarities as Float32Array;
    const candidatePass = ++this.pass;
    const explain = this.ctx.explain !== false;
    let nTouched = 0;
    for (let p = from; p < to; p++) {
      const h = hist[p] as number;
      // A track heard twice votes once.
      if (this.voted[h] === candidatePass) continue;
      this.voted[h] = candidatePass;
      for (let q = nOffsets[h] as number; q < (nOffsets[h + 1] as number); q++) {
        const j = neighbors[q] as number;
        if (this.heard[j] === out.heardPass || this.ctx.live[j] !== 1) continue;
        const s = sims[q] as number;
        if (this.stamp[j] !== candidatePass) {
          this.stamp[j] = candidatePass;
          this.score[j] = 0;
          if (explain) this.contributors.fill(-1, j * BECAUSE_SLOTS, (j + 1) * BECAUSE_SLOTS);
          this.touched[nTouched++] = j;
        }
        this.score[j]! += s;
        if (explain) this.noteContributor(j, h, s);
      }
    }
    // The contributors were noted while scoring.
    return this.emit(out, nTouched, REASON_CODE.similar);
  }

  /**
   * ALS: the user's vector folded in from the history, then every live unheard item scored
   * by its predicted preference (only those above zero). `because`: the heard items whose
   * factors are closest to the recommended item's (highest dot product above zero).
   */
  private taste(out: Output, hist: Int32Array, from: number, to: number): number {
    const foldIn = this.foldIn as AlsFoldIn;
    const nHeard = this.distinctHeard(hist, from, to);
    foldIn.solve(this.distinct, this.distinctListens, nHeard);
    const predicted = foldIn.predictAll();
    let nTouched = 0;
    for (let j = 0; j < this.nItems; j++) {
      if (this.ctx.live[j] !== 1 || this.heard[j] === out.heardPass) continue;
      const s = predicted[j] as number;
      if (!(s > 0)) continue;
      this.score[j] = s;
      this.touched[nTouched++] = j;
    }
    return this.emit(out, nTouched, REASON_CODE.taste, (j) => {
      for (let d = 0; d < nHeard; d++) {
        const h = this.distinct[d] as number;
        const a = Math.fround(foldIn.affinity(h, j));
        if (a > 0) this.noteContributor(j, h, a);
      }
    });
  }

  /**
   * EASE: score_j = Σ over the distinct heard items h of B[h, j], for every live unheard
   * item (only those above zero). `because`: the heard items with the largest positive B[h, j].
   */
  private ease(out: Output, hist: Int32Array, from: number, to: number): number {
    const weights = this.ctx.model.weights as Float32Array;
    const n = this.nItems;
    const nHeard = this.distinctHeard(hist, from, to);
    this.score.fill(0);
    for (let d = 0; d < nHeard; d++) {
      const row = (this.distinct[d] as number) * n;
      for (let j = 0; j < n; j++) this.score[j]! += weights[row + j] as number;
    }
    let nTouched = 0;
    for (let j = 0; j < n; j++) {
      if (this.ctx.live[j] !== 1 || this.heard[j] === out.heardPass || !((this.score[j] as number) > 0)) continue;
      this.touched[nTouched++] = j;
    }
    return this.emit(out, nTouched, REASON_CODE.similar, (j) => {
      for (let d = 0; d < nHeard; d++) {
        const h = this.distinct[d] as number;
        const w = weights[h * n + j] as number;
        if (w > 0) this.noteContributor(j, h, w);
      }
    });
  }

  /** The user's distinct heard items in first-listen order into `distinct`, with their listens; returns how many. */
  private distinctHeard(hist: Int32Array, from: number, to: number): number {
    const pass = ++this.pass;
    let n = 0;
    for (let p = from; p < to; p++) {
      const h = hist[p] as number;
      if (this.voted[h] === pass) {
        this.distinctListens[this.slot[h] as number]! += 1;
        continue;
      }
      this.voted[h] = pass;
      this.slot[h] = n;
      this.distinct[n] = h;
      this.distinctListens[n++] = 1;
    }
    return n;
  }

  /**
   * Writes the k best scored candidates with their reason and explanation, then pads with
   * popular tracks. `explain(j)` notes a chosen candidate's contributors; without it they
   * were noted while scoring.
   */
  private emit(out: Output, nTouched: number, reason: number, explain?: (j: number) => void): number {
    const chosen = topK(this.touched, nTouched, this.score, this.ctx.k);
    let at = out.at;
    const explaining = this.ctx.explain !== false;
    for (const j of chosen) {
      if (explaining) {
        if (explain) {
          this.contributors.fill(-1, j * BECAUSE_SLOTS, (j + 1) * BECAUSE_SLOTS);
          explain(j);
        }
        out.because.set(this.contributors.subarray(j * BECAUSE_SLOTS, (j + 1) * BECAUSE_SLOTS), at * BECAUSE_SLOTS);
      }
      out.items[at] = j;
      out.scores[at] = this.score[j] as number;
      out.reasons[at] = reason;
      this.heard[j] = out.heardPass; // chosen: padding must skip it
      at++;
    }
    return this.pad({ ...out, at }, REASON_CODE.popular);
  }

  /** Keeps the BECAUSE_SLOTS listened items that contributed most to candidate j. */
  private noteContributor(j: number, h: number, s: number): void {
    const base = j * BECAUSE_SLOTS;
    for (let slot = 0; slot < BECAUSE_SLOTS; slot++) {
      const c = this.contributors[base + slot] as number;
      if (c === -1 || s > (this.contributions[base + slot] as number)) {
        for (let m = BECAUSE_SLOTS - 1; m > slot; m--) {
          this.contributors[base + m] = this.contributors[base + m - 1] as number;
          this.contributions[base + m] = this.contributions[base + m - 1] as number;
        }
        this.contributors[base + slot] = h;
        this.contributions[base + slot] = s;
        return;
      }
    }
  }

  /** Fills the list up to k with the most listened live tracks not heard nor chosen. */
  private pad(out: Output, reason: number): number {
    let at = out.at;
    const end = out.start + this.ctx.k;
    for (let n = 0; n < this.popular.length && at < end; n++) {
      const j = this.popular[n] as number;
      if (this.heard[j] === out.heardPass) continue;
      out.items[at] = j;
      out.scores[at] = this.ctx.model.popularity[j] as number;
      out.reasons[at] = reason;
      at++;
    }
    return at;
  }

  /**
   * No usable history: the most listened live tracks, those whose genre is the user's
   * favourite counting genreBoost times their listens.
   */
  private coldStart(out: Output, genre: number): number {
    const k = this.ctx.k;
    const boost = this.ctx.genreBoost;
    const pop = this.ctx.model.popularity;
    const mine = genre > 0 ? this.genreList(genre) : new Int32Array(0);
    let a = 0; // next in this genre's list
    let b = 0; // next in the whole list
    let at = out.at;
    while (at - out.start < k) {
      while (
        b < this.popular.length &&
        (this.heard[this.popular[b] as number] === out.heardPass || (genre > 0 && this.ctx.itemGenre[this.popular[b] as number] === genre))
      )
        b++;
      while (a < mine.length && this.heard[mine[a] as number] === out.heardPass) a++;
      const fromGenre = a < mine.length ? (pop[mine[a] as number] as number) * boost : -1;
      const fromAll = b < this.popular.length ? (pop[this.popular[b] as number] as number) : -1;
      if (fromGenre < 0 && fromAll < 0) break;
      const takeGenre = fromGenre > fromAll || (fromGenre === fromAll && fromGenre >= 0 && (mine[a] as number) < (this.popular[b] as number));
      const j = (takeGenre ? mine[a++] : this.popular[b++]) as number;
      out.items[at] = j;
      out.scores[at] = takeGenre ? fromGenre : fromAll;
      out.reasons[at] = takeGenre ? REASON_CODE.cold_start_genre : REASON_CODE.cold_start_popular;
      at++;
    }
    return at;
  }

  private genreList(genre: number): Int32Array {
    let list = this.popularByGenre.get(genre);
    if (!list) {
      list = this.popular.filter((j) => this.ctx.itemGenre[j] === genre);
      this.popularByGenre.set(genre, list);
    }
    return list;
  }
}

interface Output {
  items: Int32Array;
  scores: Float32Array;
  reasons: Uint8Array;
  because: Int32Array;
  /** Where this user's list starts. */
  start: number;
  at: number;
  heardPass: number;
}

/** The k candidates with the highest score, best first (ties: the lower index). */
export function topK(candidates: Int32Array, n: number, score: Float32Array, k: number): number[] {
  if (n <= k) return Array.from(candidates.subarray(0, n)).sort((a, b) => (score[b] as number) - (score[a] as number) || a - b);
  // Partial selection: a min-heap of k (worst at the root).
  const heap = Array.from(candidates.subarray(0, k));
  const worse = (a: number, b: number) => (score[a] as number) < (score[b] as number) || ((score[a] as number) === (score[b] as number) && a > b);
  const down = (at: number) => {
    for (;;) {
      const l = 2 * at + 1;
      const r = l + 1;
      let w = at;
      if (l < k && worse(heap[l] as number, heap[w] as number)) w = l;
      if (r < k && worse(heap[r] as number, heap[w] as number)) w = r;
      if (w === at) return;
      [heap[at], heap[w]] = [heap[w] as number, heap[at] as number];
      at = w;
    }
  };
  for (let at = (k >> 1) - 1; at >= 0; at--) down(at);
  for (let c = k; c < n; c++) {
    const j = candidates[c] as number;
    if (worse(heap[0] as number, j)) {
      heap[0] = j;
      down(0);
    }
  }
  return heap.sort((a, b) => (score[b] as number) - (score[a] as number) || a - b);
}
