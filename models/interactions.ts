/**
 * Histories as a compressed sparse row matrix: user u listened to
 * items[offsets[u] .. offsets[u+1]), oldest first. Item indices are dense (0..nItems-1).
 */
export interface Interactions {
  nUsers: number;
  nItems: number;
  offsets: Int32Array;
  items: Int32Array;
}

/** Builds the CSR from per-user lists of item indices (order kept; duplicates kept). */
export function interactionsFromLists(lists: readonly (readonly number[])[], nItems: number): Interactions {
  const offsets = new Int32Array(lists.length + 1);
  let total = 0;
  lists.forEach((l, u) => {
    total += l.length;
    offsets[u + 1] = total;
  });
  const items = new Int32Array(total);
  lists.forEach((l, u) => items.set(l, offsets[u] as number));
  return { nUsers: lists.length, nItems, offsets, items };
}

/** The transpose: for each item, the users who listened to it (each user once per listen). */
export function transpose(m: Interactions): Interactions {
  const counts = new Int32Array(m.nItems + 1);
  for (let k = 0; k < m.items.length; k++) counts[(m.items[k] as number) + 1]!++;
  for (let i = 0; i < m.nItems; i++) counts[i + 1]! += counts[i] as number;
  const users = new Int32Array(m.items.length);
  const cursor = counts.slice(0, m.nItems);
  for (let u = 0; u < m.nUsers; u++) {
    for (let k = m.offsets[u] as number; k < (m.offsets[u + 1] as number); k++) {
      const item = m.items[k] as number;
      users[cursor[item]!++] = u;
    }
  }
  return { nUsers: m.nItems, nItems: m.nUsers, offsets: counts, items: users };
}

/** Listens per item. */
export function itemPopularity(m: Interactions): Float32Array {
  const pop = new Float32Array(m.nItems);
  for (let k = 0; k < m.items.length; k++) pop[m.items[k] as number]! += 1;
  return pop;
}
