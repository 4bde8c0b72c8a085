import type { Random } from './random.js';
import { FIRST_NAMES, LAST_NAMES, WORDS } from './words.js';

/** Plausible names made of the vocabulary in words.ts. */

export function words(random: Random, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(random.pick(WORDS));
  return out.join(' ');
}

export function titleCase(text: string): string {
  return text.replace(/\b[a-z]/g, (c) => c.toUpperCase());
}

export function artistName(random: Random): string {
  switch (random.int(3)) {
    case 0:
      return `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
    case 1:
      return `The ${titleCase(random.pick(WORDS))} ${titleCase(random.pick(WORDS))}s`;
    default:
      return titleCase(words(random, 2));
  }
}
