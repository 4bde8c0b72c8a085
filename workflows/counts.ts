// Pure: imported by workflows, so it must stay deterministic and import nothing but types.

/** Counters, possibly nested (retries by reason, drift by field). */
export interface Counts {
  [name: string]: number | Counts;
}

/** Adds every number of `more` into `into`, at any depth; returns `into`. */
export function addCounts<T extends object>(into: T, more: T): T {
  const a = into as unknown as Counts;
  const b = more as unknown as Counts;
  for (const [key, value] of Object.entries(b)) {
    if (typeof value === 'number') a[key] = ((a[key] as number | undefined) ?? 0) + value;
    else if (value && typeof value === 'object') a[key] = addCounts((a[key] as Counts | undefined) ?? {}, value);
  }
  return into;
}

/**
 * Takes every number of `less` from `into`, at any depth; a nested count that comes to
 * zero is removed (a drift field counted once and taken back is as if never seen). Returns `into`.
 */
export function subtractCounts<T extends object>(into: T, less: Partial<T>): T {
  const a = into as unknown as Counts;
  for (const [key, value] of Object.entries(less as unknown as Counts)) {
    if (typeof value === 'number') a[key] = ((a[key] as number | undefined) ?? 0) - value;
    else if (value && typeof value === 'object') {
      const inner = subtractCounts((a[key] as Counts | undefined) ?? {}, value);
      for (const [k, n] of Object.entries(inner)) if (n === 0) delete inner[k];
      a[key] = inner;
    }
  }
  return into;
}
