import { Growable } from '../growable.js';
import type { Interactions } from '../interactions.js';
import { sampleSorted } from './random.js';

/*
 * Offline evaluation hides some listens from training and asks a model to find them.
 * Both splits keep every user in the training matrix (the model learns from all of them);
 * only a seeded sample of the users who qualify is evaluated, so one split can be reused
 * for every family and its figures compared row by row.
 */

export const SPLIT_METHODS = ['leave-last-out', 'temporal'] as const;
export type SplitMethod = (typeof SPLIT_METHODS)[number];

/** Evaluated users at most, by default: enough for stable means, cheap to score. */
export const DEFAULT_MAX_USERS = 10_000;
/** The temporal split's default holdout: the latest 20% of all listens. */
export const DEFAULT_TEST_FRACTION = 0.2;

export interface Split {
  method: SplitMethod;
  /** Seed of the test-user sample. */
  seed: number;
  maxUsers: number;
  /** What the models are fitted on: every user, the held-out listens removed. */
  train: Interactions;
  /** Evaluated users (indices into train), ascending. */
  testUsers: Int32Array;
  /** Test user t (= testUsers[t]) must find holdoutItems[holdoutOffsets[t] .. holdoutOffsets[t+1]): distinct, ascending. */
  holdoutOffsets: Int32Array;
  holdoutItems: Int32Array;
  /** Listens left in train. */
  trainListens: number;
  /** Users who qualified for evaluation, before sampling. */
  testUsersTotal: number;
  /** temporal: the holdout's share of all listens, as asked. */
  fraction?: number;
  /** temporal: the last training instant; later listens are held out. */
  cutTime?: number;
}

/** What identifies a split, stored with a model's metrics: the same description, the same split of the same data. */
export interface SplitDescription {
  method: SplitMethod;
  seed: number;
  maxUsers: number;
  fraction?: number;
  cutTime?: number;
  testUsers: number;
  testUsersTotal: number;
  trainListens: number;
  holdoutItems: number;
}

export interface SplitOptions {
  seed: number;
  maxUsers?: number;
}

/**
 * Leave-last-out: each user's last listened track is held out, and every listen of that
 * track leaves their training history (the scorer never recommends a track already heard,
 * so a re-listened last track kept in training could never be found). Users with fewer
 * than 2 listens, or with nothing left after the removal, keep their whole history in
 * training and are not evaluated.
 */
export function leaveLastOut(m: Interactions, options: SplitOptions): Split {
  const maxUsers = checkMaxUsers(options.maxUsers ?? DEFAULT_MAX_USERS);
  const lastOf = new Int32Array(m.nUsers).fill(-1);
  const offsets = new Int32Array(m.nUsers + 1);
  const qualifying = new Growable((n) => new Int32Array(n));
  for (let u = 0; u < m.nUsers; u++) {
    const from = m.offsets[u] as number;
    const to = m.offsets[u + 1] as number;
    let kept = to - from;
    if (to - from >= 2) {
      const last = m.items[to - 1] as number;
      let others = 0;
      for (let p = from; p < to; p++) if (m.items[p] !== last) others++;
      if (others > 0) {
        lastOf[u] = last;
        kept = others;
        qualifying.push(u);
      }
    }
    offsets[u + 1] = (offsets[u] as number) + kept;
  }
  const items = new Int32Array(offsets[m.nUsers] as number);
  let at = 0;
  for (let u = 0; u < m.nUsers; u++) {
    const last = lastOf[u] as number;
    for (let p = m.offsets[u] as number; p < (m.offsets[u + 1] as number); p++) {
      const item = m.items[p] as number;
      if (item !== last) items[at++] = item;
    }
  }
  const testUsers = sampleSorted(qualifying.view(), maxUsers, options.seed);
  const holdoutOffsets = Int32Array.from({ length: testUsers.length + 1 }, (_, t) => t);
  const holdoutItems = testUsers.map((u) => lastOf[u] as number);
  return {
    method: 'leave-last-out',
    seed: options.seed,
    maxUsers,
    train: { nUsers: m.nUsers, nItems: m.nItems, offsets, items },
    testUsers,
    holdoutOffsets,
    holdoutItems,
    trainListens: items.length,
    testUsersTotal: qualifying.length,
  };
}

export interface TemporalOptions extends SplitOptions {
  /** The share of all listens, the latest by time, to hold out (0 < fraction < 1). */
  fraction?: number;
}

/**
 * Temporal: one global cut time, so that about `fraction` of all listens (the latest) are
 * after it. Training keeps every listen at or before the cut; a user's holdout is the
 * distinct tracks they heard after it and never before. Users with both are evaluated.
 * Listens sharing the cut instant all stay in training, so the holdout is at most `fraction`.
 */
export function temporalSplit(m: Interactions, times: Float64Array, options: TemporalOptions): Split {
  const maxUsers = checkMaxUsers(options.maxUsers ?? DEFAULT_MAX_USERS);
  const fraction = options.fraction ?? DEFAULT_TEST_FRACTION;
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`the temporal split's fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  if (times.length !== m.items.length) throw new RangeError(`temporal split: ${times.length} times for ${m.items.length} listens`);
  const sorted = Float64Array.from(times).sort();
  if (sorted.length === 0) throw new RangeError('temporal split: no listens to split');
  if (Number.isNaN(sorted[sorted.length - 1])) throw new RangeError('temporal split: a listen has no valid time (NaN)');
  const held = Math.round(sorted.length * fraction);
  if (held >= sorted.length) throw new RangeError(`temporal split: a fraction of ${fraction} of ${sorted.length} listens leaves none for training`);
  const cutTime = sorted[sorted.length - held - 1] as number;

  const offsets = new Int32Array(m.nUsers + 1);
  const items = new Growable((n) => new Int32Array(n));
  const allHoldout = new Growable((n) => new Int32Array(n));
  const holdoutStart = new Int32Array(m.nUsers + 1);
  const qualifying = new Growable((n) => new Int32Array(n));
  // stamp[i] === u: user u heard item i before the cut, or it is already in their holdout.
  const stamp = new Int32Array(m.nItems).fill(-1);
  for (let u = 0; u < m.nUsers; u++) {
    const from = m.offsets[u] as number;
    const to = m.offsets[u + 1] as number;
    for (let p = from; p < to; p++) {
      if ((times[p] as number) > cutTime) continue;
      const item = m.items[p] as number;
      items.push(item);
      stamp[item] = u;
    }
    offsets[u + 1] = items.length;
    const start = allHoldout.length;
    for (let p = from; p < to; p++) {
      const item = m.items[p] as number;
      if ((times[p] as number) <= cutTime || stamp[item] === u) continue;
      stamp[item] = u;
      allHoldout.push(item);
    }
    allHoldout.view().subarray(start).sort();
    holdoutStart[u + 1] = allHoldout.length;
    if ((offsets[u + 1] as number) > (offsets[u] as number) && allHoldout.length > start) qualifying.push(u);
  }
  const testUsers = sampleSorted(qualifying.view(), maxUsers, options.seed);
  const holdoutOffsets = new Int32Array(testUsers.length + 1);
  testUsers.forEach((u, t) => (holdoutOffsets[t + 1] = (holdoutOffsets[t] as number) + (holdoutStart[u + 1] as number) - (holdoutStart[u] as number)));
  const holdoutItems = new Int32Array(holdoutOffsets[testUsers.length] as number);
  const everyHoldout = allHoldout.view();
  testUsers.forEach((u, t) => holdoutItems.set(everyHoldout.subarray(holdoutStart[u] as number, holdoutStart[u + 1] as number), holdoutOffsets[t] as number));
  const trainItems = items.view().slice();
  return {
    method: 'temporal',
    seed: options.seed,
    maxUsers,
    train: { nUsers: m.nUsers, nItems: m.nItems, offsets, items: trainItems },
    testUsers,
    holdoutOffsets,
    holdoutItems,
    trainListens: trainItems.length,
    testUsersTotal: qualifying.length,
    fraction,
    cutTime,
  };
}

export function describeSplit(split: Split): SplitDescription {
  const description: SplitDescription = {
    method: split.method,
    seed: split.seed,
    maxUsers: split.maxUsers,
    testUsers: split.testUsers.length,
    testUsersTotal: split.testUsersTotal,
    trainListens: split.trainListens,
    holdoutItems: split.holdoutItems.length,
  };
  if (split.fraction !== undefined) description.fraction = split.fraction;
  if (split.cutTime !== undefined) description.cutTime = split.cutTime;
  return description;
}

function checkMaxUsers(maxUsers: number): number {
  if (!Number.isSafeInteger(maxUsers) || maxUsers < 1) throw new RangeError(`maxUsers must be a positive integer, got ${maxUsers}`);
  return maxUsers;
}
