import { parentPort } from 'node:worker_threads';
import { Scorer, type ScoringContext, type ScoringInput } from '../../models/score.js';
import { CONTEXTS_PER_THREAD } from './scoringPool.js';

// One scoring thread of the pool: holds a Scorer per context, scores the chunks it is sent.
const scorers = new Map<string, Scorer>();

type Message = { type: 'context'; key: string; context: ScoringContext } | { type: 'score'; id: number; key: string; input: ScoringInput };

parentPort?.on('message', (message: Message) => {
  if (message.type === 'context') {
    scorers.set(message.key, new Scorer(message.context));
    while (scorers.size > CONTEXTS_PER_THREAD) scorers.delete(scorers.keys().next().value as string);
    return;
  }
  try {
    const scorer = scorers.get(message.key);
    if (!scorer) throw new Error(`no scoring context ${message.key} on this thread`);
    const result = scorer.scoreChunk(message.input);
    const transfer = [result.offsets, result.items, result.scores, result.reasons, result.because, result.coldStart].map((a) => a.buffer as ArrayBuffer);
    parentPort?.postMessage({ id: message.id, result }, transfer);
  } catch (err) {
    parentPort?.postMessage({ id: message.id, error: (err as Error).message });
  }
});
