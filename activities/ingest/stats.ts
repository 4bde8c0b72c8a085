/** What happened to the records of a page, a range or a whole source in one run. */
export interface LoadStats {
  /** Records received from the API. */
  fetched: number;
  /** Records that passed validation: inserted + updated + unchanged + duplicates. */
  valid: number;
  /** Records that failed validation; each has a quarantine document. */
  invalid: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** A key already seen on another page of the same run. */
  duplicates: number;
}

export const STAT_KEYS = ['fetched', 'valid', 'invalid', 'inserted', 'updated', 'unchanged', 'duplicates'] as const satisfies readonly (keyof LoadStats)[];

export function emptyStats(): LoadStats {
  return { fetched: 0, valid: 0, invalid: 0, inserted: 0, updated: 0, unchanged: 0, duplicates: 0 };
}

/** Adds the counters of `more` into `into` (which may carry other fields: they are left alone). */
export function addStats<T extends LoadStats>(into: T, more: LoadStats): T {
  for (const key of STAT_KEYS) into[key] += more[key];
  return into;
}
