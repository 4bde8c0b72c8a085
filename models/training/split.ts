/**
 * Splits 0..n into up to `parts` consecutive ranges of about equal total cost, so that
 * threads pulling ranges from a queue finish together. A single costly index may fill
 * several shares by itself: the ranges never overlap nor come out empty.
 */
export function splitRange(n: number, parts: number, cost: (i: number) => number): [number, number][] {
  let total = 0;
  for (let i = 0; i < n; i++) total += cost(i);
  const ranges: [number, number][] = [];
  const step = total / Math.max(1, parts);
  let target = step;
  let from = 0;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += cost(i);
    if (acc >= target || i === n - 1) {
      ranges.push([from, i + 1]);
      from = i + 1;
      target = (Math.floor(acc / step) + 1) * step;
    }
  }
  return ranges;
}
