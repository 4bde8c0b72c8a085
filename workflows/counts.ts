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
