import { Scorer, type ScoredChunk, type ScoringContext, type ScoringInput } from './score.js';
import { serveTasks } from './threadPool.js';

// One scoring thread of the pool: holds a Scorer per context, scores the chunks it is sent.
serveTasks<ScoringInput, ScoredChunk, ScoringContext, Scorer>(
  (input, scorer) => (scorer as Scorer).scoreChunk(input),
  (result) => [result.offsets, result.items, result.scores, result.reasons, result.because, result.coldStart].map((a) => a.buffer as ArrayBuffer),
  (context) => new Scorer(context),
);
