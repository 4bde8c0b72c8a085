import type { DriftFigures } from '../../contracts/training.js';
/*
 * Drift: how far today's listening has moved from the data the champion was trained on,
 * as the Population Stability Index over two distributions (listens over tracks, listens
 * over genres). PSI = sum over bins of (now - then) * ln(now / then); by the usual rule of
 * thumb, below 0.1 is stable, 0.1-0.2 a moderate shift, above 0.2 a real one.
 */

/** Shares below this count as this: an empty bin would make the logarithm infinite. */
const FLOOR = 1e-4;

/** PSI between two distributions given as weights per bin (normalised here). */
export function psi(reference: Record<string, number>, current: Record<string, number>): number {
  const bins = new Set([...Object.keys(reference), ...Object.keys(current)]);
  const total = (d: Record<string, number>) => Object.values(d).reduce((a, b) => a + b, 0) || 1;
  const tr = total(reference);
  const tc = total(current);
  let sum = 0;
  for (const bin of bins) {
    const e = Math.max(FLOOR, (reference[bin] ?? 0) / tr);
    const a = Math.max(FLOOR, (current[bin] ?? 0) / tc);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/**
 * Listens per track, binned for PSI: the reference's `top` most listened tracks one bin
 * each, every other track in one `other` bin. Thousands of single-listen bins would make
 * PSI measure sampling noise, not a shift of taste.
 */
export function trackBins(
  referenceCounts: Map<number, number>,
  currentCounts: Map<number, number>,
  top = 1000,
): { reference: Record<string, number>; current: Record<string, number> } {
  const kept = new Set(
    [...referenceCounts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, top)
      .map(([id]) => id),
  );
  const bin = (counts: Map<number, number>) => {
    const out: Record<string, number> = { other: 0 };
    for (const [id, n] of counts) {
      const key = kept.has(id) ? String(id) : 'other';
      out[key] = (out[key] ?? 0) + n;
    }
    return out;
  };
  return { reference: bin(referenceCounts), current: bin(currentCounts) };
}

export interface DriftThresholds {
  /** PSI past which a distribution has drifted. */
  psi: number;
  /** Relative drop of the champion's NDCG@10 past which it has drifted (0.1 = 10 %). */
  metricDrop: number;
}

/** Which thresholds the figures cross, as sentences; empty when nothing drifted. */
export function driftReasons(f: DriftFigures, t: DriftThresholds): string[] {
  const reasons: string[] = [];
  if (f.psiTracks > t.psi) reasons.push(`listens over tracks shifted: PSI ${f.psiTracks.toFixed(3)} > ${t.psi}`);
  if (f.psiGenres > t.psi) reasons.push(`listens over genres shifted: PSI ${f.psiGenres.toFixed(3)} > ${t.psi}`);
  if (f.championNdcgThen !== null && f.championNdcgNow !== null && f.championNdcgThen > 0) {
    const drop = 1 - f.championNdcgNow / f.championNdcgThen;
    if (drop > t.metricDrop)
      reasons.push(
        `the champion's NDCG@10 dropped ${(100 * drop).toFixed(1)} % (${f.championNdcgThen.toFixed(4)} -> ${f.championNdcgNow.toFixed(4)}), more than ${(100 * t.metricDrop).toFixed(0)} %`,
      );
  }
  return reasons;
}
