// Pure planning logic: imported by workflows, so it must stay deterministic and import nothing.

export interface PageRange {
  firstPage: number;
  lastPage: number;
}

/** Splits pages 1..pages into consecutive ranges of at most pagesPerRange pages. */
export function planPageRanges(pages: number, pagesPerRange: number): PageRange[] {
  if (!Number.isSafeInteger(pages) || pages < 0) throw new RangeError(`pages must be a whole number >= 0, got ${pages}`);
  if (!Number.isSafeInteger(pagesPerRange) || pagesPerRange < 1) {
    throw new RangeError(`pagesPerRange must be a whole number >= 1, got ${pagesPerRange}`);
  }
  const ranges: PageRange[] = [];
  for (let first = 1; first <= pages; first += pagesPerRange) {
    ranges.push({ firstPage: first, lastPage: Math.min(first + pagesPerRange - 1, pages) });
  }
  return ranges;
}

/** YYYY-MM-DD naming a real calendar day. */
export function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === text;
}
