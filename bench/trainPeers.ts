// bench:train's side-by-side part: each family fitted at the peers' settings on the real
// development data, then the Python peers (implicit, numpy) at the same settings on the
// same data, in the same run and on the same cores; fit seconds and their ratio per case.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../config/paths.js';
import { readInteractionsCsv } from '../client/evaluation/csv.js';
import { fitModel, type FamilyParams } from '../models/families.js';
import type { Interactions } from '../models/interactions.js';
import { peerPython } from './peerVenv.js';
import type { ModelFamily } from '../contracts/names.js';

export interface PeerCase {
  name: string;
  family: ModelFamily;
  params: FamilyParams;
  peer: 'implicit-cosine' | 'implicit-bm25' | 'implicit-als' | 'numpy-rp3beta' | 'numpy-ease';
  peerParams: Record<string, number | string>;
  /** EASE: fitted on this many most-liked items only (a dense items² matrix). */
  items?: number;
  /** The bound on ours / peer, where it sets one. */
  target: number | null;
}

/**
 * The settings are the peers' validation-tuned ones on the Deezer data (its README). ALS:
 * implicit's confidence is alpha·r, ours 1 + alpha·r, so alpha 10 there is alpha 9 here on
 * binary data: the same equations.
 */
export function peerCases(easeItems: number): PeerCase[] {
  const als = (factors: number): PeerCase => ({
    name: `als-${factors}`,
    family: 'als',
    params: { factors, regularization: 1, alpha: 9, iterations: 15 },
    peer: 'implicit-als',
    peerParams: { factors, regularization: 1, alpha: 10, iterations: 15 },
    target: 1.5,
  });
  return [
    {
      name: 'item-knn-cosine',
      family: 'item-knn',
      params: { similarity: 'cosine', neighbors: 2000 },
      peer: 'implicit-cosine',
      peerParams: { K: 2000 },
      target: 1.5,
    },
    {
      name: 'item-knn-bm25',
      family: 'item-knn',
      params: { similarity: 'bm25', neighbors: 2000, k1: 1.2, b: 0.75 },
      peer: 'implicit-bm25',
      peerParams: { K: 2000, K1: 1.2, B: 0.75 },
      target: 1.5,
    },
    als(64),
    als(128),
    {
      name: 'rp3beta',
      family: 'rp3beta',
      params: { neighbors: 100, alpha: 1, beta: 0.3 },
      peer: 'numpy-rp3beta',
      peerParams: { alpha: 1, beta: 0.3, topK: 100 },
      target: null,
    },
    {
      name: `ease-${easeItems}`,
      family: 'ease',
      params: { lambda: 500 },
      peer: 'numpy-ease',
      peerParams: { lambda: 500, items: easeItems, dtype: 'float64' },
      items: easeItems,
      target: 2,
    },
  ];
}

/** The listens on the n most-liked items only (ties: the lower index), items renumbered in their order. */
export function mostLiked(m: Interactions, n: number): Interactions {
  const likes = new Float64Array(m.nItems);
  const seen = new Map<number, number>();
  for (let u = 0; u < m.nUsers; u++) {
    seen.clear();
    for (let p = m.offsets[u] as number; p < (m.offsets[u + 1] as number); p++) {
      const i = m.items[p] as number;
      if (!seen.has(i)) likes[i]! += 1;
      seen.set(i, 1);
    }
  }
  const kept = Array.from({ length: m.nItems }, (_, i) => i)
    .sort((a, b) => (likes[b] as number) - (likes[a] as number) || a - b)
    .slice(0, n)
    .sort((a, b) => a - b);
  const index = new Int32Array(m.nItems).fill(-1);
  kept.forEach((item, k) => (index[item] = k));
  const offsets = new Int32Array(m.nUsers + 1);
  const items: number[] = [];
  for (let u = 0; u < m.nUsers; u++) {
    for (let p = m.offsets[u] as number; p < (m.offsets[u + 1] as number); p++) {
      const k = index[m.items[p] as number] as number;
      if (k >= 0) items.push(k);
    }
    offsets[u + 1] = items.length;
  }
  return { nUsers: m.nUsers, nItems: kept.length, offsets, items: Int32Array.from(items) };
}

export interface PeerFigures {
  case: string;
  family: ModelFamily;
  params: FamilyParams;
  ours_fit_s: number;
  peer: string;
  peer_params: Record<string, number | string>;
  peer_fit_s: number | null;
  ratio: number | null;
  target: number | null;
}

/** Ours, then the peers, on `file`: one figure per case (the peers' fit null when they cannot run). */
export async function peerFitFigures(
  file: string,
  cases: PeerCase[],
  threads: number,
  log: (line: string) => void,
): Promise<{ data: Record<string, number | string>; cases: PeerFigures[]; peers?: string }> {
  const { interactions: m, rows } = await readInteractionsCsv(file);
  log(`side by side on ${file}: ${rows} rows, ${m.nUsers} users, ${m.nItems} items`);
  const ours = new Map<string, number>();
  for (const c of cases) {
    const data = c.items ? mostLiked(m, c.items) : m;
    const ids = Float64Array.from({ length: data.nItems }, (_, i) => i + 1);
    log(`ours: ${c.name}`);
    const t0 = performance.now();
    await fitModel(c.family, data, ids, c.params, { seed: 1, threads });
    ours.set(c.name, (performance.now() - t0) / 1000);
  }
  const peerFits = new Map<string, number>();
  const python = peerPython(log);
  let skipped: string | undefined;
  if (typeof python === 'object') skipped = python.skipped;
  else {
    log(`peers: ${cases.map((c) => c.peer).join(', ')}`);
    const payload = JSON.stringify(cases.map((c) => ({ name: c.name, peer: c.peer, params: c.peerParams })));
    const run = spawnSync(python, [join(projectRoot, 'bench', 'peerFits.py'), file, payload], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    for (const line of run.stdout.split('\n').filter(Boolean)) {
      const row = JSON.parse(line) as { case: string; fit_s: number };
      peerFits.set(row.case, row.fit_s);
    }
    if (run.status !== 0) skipped = `peerFits.py exited with ${run.status ?? run.signal}`;
  }
  const round2 = (x: number) => Math.round(x * 100) / 100;
  return {
    data: { file, rows, users: m.nUsers, items: m.nItems },
    cases: cases.map((c) => {
      const oursS = ours.get(c.name) as number;
      const peerS = peerFits.get(c.name) ?? null;
      return {
        case: c.name,
        family: c.family,
        params: c.params,
        ours_fit_s: round2(oursS),
        peer: c.peer,
        peer_params: c.peerParams,
        peer_fit_s: peerS,
        ratio: peerS ? round2(oursS / peerS) : null,
        target: c.target,
      };
    }),
    ...(skipped ? { peers: skipped } : {}),
  };
}
