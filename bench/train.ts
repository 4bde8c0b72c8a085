// bench:train — how long each model family takes to fit, on how much CPU and memory.
// Each fit runs in a child process of its own (this file with --child), so that its peak
// RSS and CPU seconds are its own; the parent prints a table, or one JSON line with --json.
//
//   npm run bench:train -- [--json] [--scale 0.1] [--threads 0] [--only als,ease] [--no-quality]
//                          [--interactions FILE.csv] [--ease-items 7000] [--no-peers]
//
// Then, when the development data is there (../shared/data/deezer-likes, or --interactions),
// each family side by side with its Python peer (implicit, numpy) at the same settings on
// that data (bench/trainPeers.ts): fit seconds of both and their ratio.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fitModel, type FamilyParams } from '../models/families.js';
import { evaluateModel } from '../models/evaluation/evaluate.js';
import { leaveLastOut } from '../models/evaluation/split.js';
import { tasteListens } from '../simulator/taste.js';
import { syntheticListens } from './syntheticListens.js';
import { peerCases, peerFitFigures } from './trainPeers.js';
import { projectRoot } from '../config/paths.js';
import type { ModelFamily } from '../contracts/names.js';

/** One measured fit: a family and its parameters on synthetic power-law listens. */
export interface FitCase {
  name: string;
  family: ModelFamily;
  params: FamilyParams;
  users: number;
  tracks: number;
  /** Distinct tracks per user. */
  perUser: number;
}

/** What a child process reports about its fit. */
export interface FitFigures {
  users: number;
  tracks: number;
  listens: number;
  params: FamilyParams;
  generateMs: number;
  fitMs: number;
  /** User + system CPU of the fit, every thread of the process included. */
  cpuSeconds: number;
  /** Peak resident set of the whole process (data + fit). */
  peakRssMb: number;
  /** Peak resident set once the data was generated, before the fit. */
  dataRssMb: number;
}

/** The default measurements at scale 1: the sizes each family is meant for. */
export function fitCases(scale: number): FitCase[] {
  const size = (n: number) => Math.max(10, Math.round(n * scale));
  const full: FitCase[] = [
    { name: 'item-knn-cosine', family: 'item-knn', params: { similarity: 'cosine', neighbors: 50 }, users: 1_000_000, tracks: 100_000, perUser: 5 },
    { name: 'item-knn-bm25', family: 'item-knn', params: { similarity: 'bm25', neighbors: 50 }, users: 1_000_000, tracks: 100_000, perUser: 5 },
    { name: 'als', family: 'als', params: { factors: 64, iterations: 15 }, users: 100_000, tracks: 20_000, perUser: 50 },
    // EASE at 5,000 items: 400 MB at its peak, minutes of fit (items³).
    { name: 'ease', family: 'ease', params: {}, users: 20_000, tracks: 5_000, perUser: 50 },
  ];
  return full.map((c) => {
    const tracks = size(c.tracks);
    return { ...c, users: size(c.users), tracks, perUser: Math.min(c.perUser, Math.floor(tracks / 2)) };
  });
}

/** Runs one fit in this process and reports its figures. */
export async function measureFit(c: FitCase, threads: number): Promise<FitFigures> {
  const t0 = performance.now();
  const items = syntheticListens(c.users, c.tracks, c.perUser);
  const m = { nUsers: c.users, nItems: c.tracks, offsets: Int32Array.from({ length: c.users + 1 }, (_, u) => u * c.perUser), items };
  const itemIds = Float64Array.from({ length: c.tracks }, (_, i) => i + 1);
  const generateMs = performance.now() - t0;
  const dataRssMb = process.resourceUsage().maxRSS / 1024;
  const cpu0 = process.cpuUsage();
  const t1 = performance.now();
  const model = await fitModel(c.family, m, itemIds, c.params, { seed: 1, threads });
  const fitMs = performance.now() - t1;
  const cpu = process.cpuUsage(cpu0);
  return {
    users: c.users,
    tracks: c.tracks,
    listens: items.length,
    params: model.params,
    generateMs: Math.round(generateMs),
    fitMs: Math.round(fitMs),
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    dataRssMb: Math.round(dataRssMb),
  };
}

/** Runs one fit in a child process of its own. */
function measureInChild(c: FitCase, threads: number): Promise<FitFigures> {
  return new Promise((resolve, reject) => {
    const args = [fileURLToPath(import.meta.url), '--child', JSON.stringify(c), '--threads', String(threads)];
    execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${c.name}: ${stderr.trim() || err.message}`));
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as FitFigures);
      } catch {
        reject(new Error(`${c.name}: unreadable child output ${JSON.stringify(last)}`));
      }
    });
  });
}

// --- Quality: NDCG@10 per family on taste-mode data ---------------------------------------
/** Taste-mode data for the quality figures: EASE's largest catalogue, so every family runs. */
export const QUALITY_DATA = { users: 20_000, tracks: 5_000, listensPerUser: 30 };

/**
 * Every family fitted on the leave-last-out training split of the simulator's taste-mode
 * data (clusters over genres and artists, power-law popularity), each test user's top 20
 * ranked by the production scorer against the whole catalogue, as a retraining does.
 */
export async function qualityFigures(options: { scale: number; threads: number }): Promise<Record<string, unknown>> {
  const users = Math.max(200, Math.round(QUALITY_DATA.users * options.scale));
  const tracks = Math.max(100, Math.round(QUALITY_DATA.tracks * options.scale));
  const data = tasteListens({ seed: 'bench-train', users, tracks, listensPerUser: QUALITY_DATA.listensPerUser });
  const split = leaveLastOut(data, { seed: 1, maxUsers: 10_000 });
  const itemIds = Float64Array.from({ length: tracks }, (_, i) => i + 1);
  const threads = options.threads || availableParallelism();
  const families: [string, ModelFamily, FamilyParams][] = [
    ['most-popular', 'most-popular', {}],
    ['item-knn-cosine', 'item-knn', { similarity: 'cosine' }],
    ['item-knn-bm25', 'item-knn', { similarity: 'bm25' }],
    ['als', 'als', { factors: 64, iterations: 15 }],
    ['ease', 'ease', {}],
  ];
  const rows: Record<string, { ndcg10: number; recall10: number; coverage20: number; fitMs: number; upliftVsMostPopular: number | null }> = {};
  let baseline = 0;
  for (const [name, family, params] of families) {
    const t0 = performance.now();
    const model = await fitModel(family, split.train, itemIds, params, { seed: 1, threads });
    const fitMs = Math.round(performance.now() - t0);
    const m = await evaluateModel(model, split, { threads });
    if (family === 'most-popular') baseline = m['ndcg@10'];
    const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
    rows[name] = {
      ndcg10: round4(m['ndcg@10']),
      recall10: round4(m['recall@10']),
      coverage20: round4(m['coverage@20']),
      fitMs,
      upliftVsMostPopular: family === 'most-popular' || baseline === 0 ? null : round4(m['ndcg@10'] / baseline - 1),
    };
  }
  return { data: { users, tracks, listens: data.items.length, mode: 'taste', testUsers: split.testUsers.length, split: 'leave-last-out' }, families: rows };
}
// -------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      scale: { type: 'string', default: '1' },
      threads: { type: 'string', default: '0' },
      only: { type: 'string' },
      child: { type: 'string' },
      'no-quality': { type: 'boolean', default: false },
      interactions: { type: 'string', default: join(projectRoot, '..', 'shared', 'data', 'deezer-likes', 'interactions.csv') },
      'ease-items': { type: 'string', default: '7000' },
      'no-peers': { type: 'boolean', default: false },
    },
  });
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 0) throw new Error(`--threads must be a whole number >= 0 (0: one per core), got ${values.threads}`);
  if (values.child !== undefined) {
    console.log(JSON.stringify(await measureFit(JSON.parse(values.child) as FitCase, threads)));
    return;
  }
  const scale = Number(values.scale);
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale must be above 0 and at most 1, got ${values.scale}`);
  const cases = fitCases(scale);
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((name) => !cases.some((c) => c.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`--only: unknown fit ${unknown.join(', ')} (known: ${cases.map((c) => c.name).join(', ')})`);
  const easeItems = Number(values['ease-items']);
  if (!Number.isInteger(easeItems) || easeItems < 2) throw new Error(`--ease-items must be a whole number >= 2, got ${values['ease-items']}`);
  const loadBefore = loadavg()[0] as number;
  const fits: Record<string, FitFigures | { error: string }> = {};
  for (const c of cases.filter((c) => !only || only.includes(c.name))) {
    if (!values.json) process.stderr.write(`fitting ${c.name} on ${c.users} users x ${c.tracks} tracks x ${c.users * c.perUser} listens...\n`);
    fits[c.name] = await measureInChild(c, threads).catch((err: Error) => ({ error: err.message }));
  }
  if (!values.json) process.stderr.write(`NDCG@10 per family on taste-mode data...\n`);
  const quality = values['no-quality'] ? {} : await qualityFigures({ scale, threads });
  const log = (line: string) => (values.json ? undefined : process.stderr.write(`${line}\n`));
  const sideBySide = values['no-peers']
    ? undefined
    : existsSync(values.interactions)
      ? await peerFitFigures(values.interactions, peerCases(easeItems), threads, log)
      : { skipped: `no development data at ${values.interactions} (--interactions FILE.csv)` };
  const report = {
    scale,
    threads: threads === 0 ? availableParallelism() : threads,
    cores: availableParallelism(),
    loadAverage: { before: round1(loadBefore), after: round1(loadavg()[0] as number) },
    fits,
    quality,
    ...(sideBySide ? { peers: sideBySide } : {}),
  };
  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(`threads ${report.threads} on ${report.cores} cores; load average ${report.loadAverage.before} before, ${report.loadAverage.after} after`);
    for (const [name, f] of Object.entries(fits)) {
      console.log(
        'error' in f
          ? `${name}: FAILED ${f.error}`
          : `${name}: ${f.users} users x ${f.tracks} tracks x ${f.listens} listens: fit ${(f.fitMs / 1000).toFixed(1)} s, ${f.cpuSeconds} CPU s, peak RSS ${f.peakRssMb} MB (data alone ${f.dataRssMb} MB)`,
      );
    }
    console.log(`NDCG@10 on taste-mode data: ${JSON.stringify(quality)}`);
    if (sideBySide && 'cases' in sideBySide) {
      if (sideBySide.peers) console.log(`peers not run: ${sideBySide.peers}`);
      for (const c of sideBySide.cases)
        console.log(`${c.case}: ours ${c.ours_fit_s} s, ${c.peer} ${c.peer_fit_s ?? '-'} s: ${c.ratio ?? '-'}x${c.target ? ` (target <= ${c.target}x)` : ''}`);
    } else if (sideBySide) console.log(`side by side skipped: ${sideBySide.skipped}`);
  }
  if (Object.values(fits).some((f) => 'error' in f)) process.exitCode = 1;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

// Run when started as a script; importable for its exports.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
