import type { Reason } from '../models/types.js';

export interface RecommendedItem {
  track_id: number;
  score: number;
  reason: Reason;
  /** The listened tracks that led to it, strongest first (empty for popularity). */
  because: number[];
}

/*
 * A stored list is text, one item after another, `;` between them:
 *   <track id>:<score>:<reason>:<because track ids, comma-separated>
 * e.g. `101:0.53:similar:7,12;340:0.41:popular:`. None of these characters needs escaping
 * in JSON: FerretDB stores documents as JSON and quotes strings a character at a time, so
 * a list as JSON text (a quote escaped around every key and reason, and 2.6x as long) cost
 * it half as much again to insert (docs/recommendations.md). Lists written before are
 * JSON text (an array), and still read.
 */

/** The list's stored text. */
export function encodeItems(items: readonly RecommendedItem[]): string {
  return items.map((item) => `${item.track_id}:${item.score}:${item.reason}:${item.because.join(',')}`).join(';');
}

/** The list a stored text holds, either format. */
export function decodeItems(text: string): RecommendedItem[] {
  if (isJsonList(text)) return JSON.parse(text) as RecommendedItem[];
  if (text === '') return [];
  return text.split(';').map((entry) => {
    const [track, score, reason, because] = entry.split(':') as [string, string, string, string];
    return { track_id: Number(track), score: Number(score), reason: reason as Reason, because: because === '' ? [] : because.split(',').map(Number) };
  });
}

/** The list as the API serves it (JSON, the same keys in the same order), from its stored text. */
export function itemsJson(text: string): string {
  return isJsonList(text) ? text : JSON.stringify(decodeItems(text));
}

const isJsonList = (text: string) => text.charCodeAt(0) === 0x5b; // '['
