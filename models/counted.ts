import type { Interactions } from './interactions.js';
import { sharedFloat32, sharedInt32 } from './training/shared.js';

/**
 * A sparse matrix of listen counts in compressed rows: row r has the distinct columns
 * cols[offsets[r] .. offsets[r+1]) in ascending order, heard counts[..] times each.
 */
export interface CountedMatrix {
  nRows: number;
  nCols: number;
  offsets: Int32Array;
  cols: Int32Array;
  counts: Float32Array;
}

/** The same listens seen from both sides: user x item and item x user. */
export interface CountedListens {
  byUser: CountedMatrix;
  byItem: CountedMatrix;
}

/**
 * Histories (oldest first, repeats kept) as distinct listened pairs with counts, in shared
 * memory so that training threads read one copy. Ascending order within a row makes every
 * sum over a row run in the same order, whichever thread computes it.
 */
export function countListens(m: Interactions): CountedListens {
  // User rows: each history sorted on its own (short rows, sequential memory), repeats merged.
  let longest = 0;
  for (let u = 0; u < m.nUsers; u++) longest = Math.max(longest, (m.offsets[u + 1] as number) - (m.offsets[u] as number));
  const sorted = new Int32Array(longest);
  const userOffsets = sharedInt32(m.nUsers + 1);
  const userItems = sharedInt32(m.items.length);
  const userCounts = sharedFloat32(m.items.length);
  const listeners = new Int32Array(m.nItems + 1);
  let at = 0;
  for (let u = 0; u < m.nUsers; u++) {
    const from = m.offsets[u] as number;
    const length = (m.offsets[u + 1] as number) - from;
    const row = sorted.subarray(0, length);
    row.set(m.items.subarray(from, from + length));
    row.sort();
    if (length > 0 && ((row[0] as number) < 0 || (row[length - 1] as number) >= m.nItems)) {
      throw new Error(`listens: user ${u} has an item index outside 0..${m.nItems - 1}`);
    }
    let previous = -1;
    for (let n = 0; n < length; n++) {
      const item = row[n] as number;
      if (item !== previous) {
        userItems[at] = item;
        userCounts[at++] = 1;
        listeners[item + 1]!++;
      } else userCounts[at - 1]! += 1;
      previous = item;
    }
    userOffsets[u + 1] = at;
  }
  // Item rows: a counting sort of the user rows; walking users in ascending order leaves each item's users ascending.
  const itemOffsets = sharedInt32(m.nItems + 1);
  for (let i = 0; i < m.nItems; i++) itemOffsets[i + 1] = (itemOffsets[i] as number) + (listeners[i + 1] as number);
  const itemUsers = sharedInt32(at);
  const itemCounts = sharedFloat32(at);
  const cursor = itemOffsets.slice(0, m.nItems);
  for (let u = 0; u < m.nUsers; u++) {
    for (let p = userOffsets[u] as number; p < (userOffsets[u + 1] as number); p++) {
      const c = cursor[userItems[p] as number]!++;
      itemUsers[c] = u;
      itemCounts[c] = userCounts[p] as number;
    }
  }
  return {
    byUser: { nRows: m.nUsers, nCols: m.nItems, offsets: userOffsets, cols: userItems.subarray(0, at), counts: userCounts.subarray(0, at) },
    byItem: { nRows: m.nItems, nCols: m.nUsers, offsets: itemOffsets, cols: itemUsers, counts: itemCounts },
  };
}
