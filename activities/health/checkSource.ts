import { Context, log } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { SOURCES, type SourceDescription, type SourceName } from '../../sources/index.js';
import { quarantineCollection } from '../ingest/quarantine.js';
import { rawCollection } from '../ingest/raw.js';
import { RUNS_COLLECTION } from '../runs/recordRun.js';
import type { PipelineRunDocument, SourceSummary } from '../runs/types.js';
import { checkLabel, countStatuses, fieldChecks, freshnessCheck, rateCheck, summaryChecks, volumeCheck, worst } from './checks.js';
import { IdSet, RecordProfiler, percentile, timeOf, top, type Tally } from './profile.js';
import type { QualitySettings } from '../../config/quality.js';
import type { CheckResult, CheckSourceInput, CheckSourceResult, QualityReportDocument, SourceKpis } from './types.js';

export const QUALITY_REPORTS_COLLECTION = 'quality_reports';
const BATCH = 2_000;
const HEARTBEAT_EVERY = 10_000;

export const reportId = (workflowId: string, source: string) => `${workflowId}/${source}`;

/** Records stored by a run of a source: what the volume check compares. */
export const storedRecords = (s: Pick<SourceSummary, 'inserted' | 'updated' | 'unchanged'>) => s.inserted + s.updated + s.unchanged;

function heartbeatEvery(): (n?: number) => void {
  let seen = 0;
  return (n = 1) => {
    seen += n;
    if (seen % HEARTBEAT_EVERY < n) Context.current().heartbeat({ documentsRead: seen });
  };
}

/**
 * Runs every check of one source after its load and stores the report (`_id` =
 * `<workflow id>/<source>`, so a retry replaces it). The KPIs of the source are computed
 * in the same pass over its records.
 */
export async function checkSource(deps: { db: Db; quality: QualitySettings }, input: CheckSourceInput): Promise<CheckSourceResult> {
  const { db, quality } = deps;
  const source = SOURCES[input.source];
  const tick = heartbeatEvery();
  const results: CheckResult[] = [];

  const duplicated: Tally = { count: 0, samples: [] };
  const profiler = new RecordProfiler(source);
  let kpis: SourceKpis | null = null;
  if (input.summary.merged) {
    // Invalid records of this run, and the keys it served twice, from quarantine.
    const duplicateKeys = new Set<string>();
    const invalidKeys = new Set<string>();
    for await (const q of quarantineCollection(db).find({ run_id: input.runId, source: input.source }, { batchSize: BATCH })) {
      tick();
      if (q.reason === 'duplicate') {
        if (q.key !== null && !duplicateKeys.has(q.key)) {
          duplicateKeys.add(q.key);
          duplicated.count++;
          if (duplicated.samples.length < 5) duplicated.samples.push(q.key);
        }
        continue;
      }
      let record: unknown;
      try {
        record = JSON.parse(q.record_json);
      } catch {
        record = null;
      }
      const asObject = record !== null && typeof record === 'object' && !Array.isArray(record) ? (record as Record<string, unknown>) : {};
      // A keyless record is named by where it was served.
      profiler.add(asObject, q.key ?? `page ${q.page} #${q.index}`, false);
      if (q.key !== null) invalidKeys.add(q.key);
    }
    const references = await References.load(db, source, tick);
    kpis = await profileLive(db, source, input, profiler, tick, invalidKeys, references);
    results.push(...fieldChecks(profiler, quality.checks, Object.keys(source.acceptedValues ?? {})));
    if (references) results.push(...references.results(quality));
    const fresh = freshnessCheck(quality.checks.freshness, source.freshnessField, profiler.newest, input.date);
    if (fresh) results.push(fresh);
    const volume = volumeCheck(quality.checks.volume, storedRecords(input.summary), await earlierVolumes(db, input, quality.checks.volume.lookback));
    if (volume) results.push(volume);
  }
  results.push(...summaryChecks(input.summary, quality.checks, duplicated));

  const counts = countStatuses(results);
  const status = worst(results.map((r) => r.status));
  const failing = results.filter((r) => r.status === 'fail').map(checkLabel);
  const report: QualityReportDocument = {
    _id: reportId(input.workflowId, input.source),
    workflow_id: input.workflowId,
    run_id: input.runId,
    date: input.date,
    source: input.source,
    created_at: new Date(),
    status,
    counts,
    blocking: quality.gate === 'error' && failing.length > 0,
    checks: results,
    kpis,
  };
  await db.collection<QualityReportDocument>(QUALITY_REPORTS_COLLECTION).replaceOne({ _id: report._id }, report, { upsert: true });
  log.info('checks done', { workflowId: input.workflowId, source: input.source, status, ...counts, failing });
  return { source: input.source, status, counts, blocking: report.blocking, failing };
}

/**
 * One pass over the source's raw layer: this run's records into the profiler, the live
 * ones into the KPIs and, for a source with references, into the orphan counts. FerretDB
 * decodes every document it returns (a few thousand raw documents a second here), so
 * each collection is read once.
 */
async function profileLive(
  db: Db,
  source: SourceDescription,
  input: CheckSourceInput,
  profiler: RecordProfiler,
  tick: () => void,
  invalidKeys: Set<string>,
  references: References | null,
): Promise<SourceKpis> {
  let live = 0;
  const startOfWindow = Date.parse(`${input.date}T00:00:00Z`) - 29 * 86_400_000;
  const newUsers = new Map<string, number>();
  const favorite = new Map<string, number>();
  for await (const row of liveRecords(db, source, input.runId)) {
    tick();
    // A key served invalid keeps its last valid version, marked seen (so that it is not
    // tombstoned): the run's record for that key is the quarantined one, counted above.
    if (row.seenThisRun && !invalidKeys.has(row.key)) profiler.add(row.record, row.key, true);
    if (!row.live) continue;
    live++;
    references?.add(row.key, row.record);
    if (input.source === 'users') {
      const created = timeOf(row.record.created_at);
      if (created !== null && created >= startOfWindow && created < startOfWindow + 30 * 86_400_000) {
        const day = new Date(created).toISOString().slice(0, 10);
        newUsers.set(day, (newUsers.get(day) ?? 0) + 1);
      }
      const genre = row.record.favorite_genres;
      if (typeof genre === 'string') favorite.set(genre, (favorite.get(genre) ?? 0) + 1);
    }
  }
  const kpis: SourceKpis = { live };
  if (input.source === 'users') {
    kpis.newUsersPerDay = {};
    for (let i = 0; i < 30; i++) {
      const day = new Date(startOfWindow + i * 86_400_000).toISOString().slice(0, 10);
      kpis.newUsersPerDay[day] = newUsers.get(day) ?? 0;
    }
    kpis.favoriteGenres = top(favorite, 10).map(([genre, users]) => ({ genre, users }));
  }
  references?.kpis(kpis);
  return kpis;
}

interface LiveRow {
  key: string;
  record: Record<string, unknown>;
  live: boolean;
  /** The run served this record (its last-seen marker is the run's). */
  seenThisRun: boolean;
}

/**
 * The records to check. Where the curated documents mirror the records one to one
 * (`checksRead: 'curated'`) they are read instead of the raw layer: they hold the live
 * records only, typed, and are about half the size to decode on FerretDB. They carry no
 * run marker: every live record counts as this run's, which it is after a complete run.
 */
async function* liveRecords(db: Db, source: SourceDescription, runId: string): AsyncGenerator<LiveRow> {
  if (source.checksRead === 'curated') {
    for await (const doc of db.collection<{ _id: string } & Record<string, unknown>>(source.curatedCollection).find({}, { batchSize: BATCH })) {
      yield { key: doc._id, record: doc, live: true, seenThisRun: true };
    }
    return;
  }
  for await (const doc of rawCollection(db, source).find({}, { batchSize: BATCH })) {
    yield { key: doc._id, record: doc.record, live: !doc.deleted_at, seenThisRun: doc.last_seen_run === runId };
  }
}

/** Ids of a source's live records, read from its curated collection (smaller than raw), and the track genres. */
async function liveTargets(db: Db, name: SourceName, tick: () => void): Promise<{ ids: IdSet; genres: string[] }> {
  const rows: [number, string][] = [];
  for await (const doc of db.collection<{ id: number; genres?: string }>(SOURCES[name].curatedCollection).find({}, { batchSize: BATCH })) {
    tick();
    rows.push([doc.id, doc.genres ?? '']);
  }
  rows.sort((a, b) => a[0] - b[0]);
  return { ids: new IdSet(rows.map((r) => r[0])), genres: rows.map((r) => r[1]) };
}

/**
 * Referential integrity of live records (keys pointing at no live record of the target
 * source: orphans), and the listen-history KPIs, fed one record at a time.
 */
class References {
  private readonly orphans = new Map<string, Tally & { total: number }>();
  private readonly lengths = new Map<number, number>();
  private histories = 0;
  private listens = 0;
  private usersWithListens = 0;
  private readonly genres = new Map<string, number>();

  constructor(
    private readonly source: SourceDescription,
    private readonly targets: Map<SourceName, { ids: IdSet; genres: string[] }>,
  ) {
    for (const ref of source.references ?? []) this.orphans.set(ref.field, { count: 0, samples: [], total: 0 });
  }

  static async load(db: Db, source: SourceDescription, tick: () => void): Promise<References | null> {
    if (!source.references) return null;
    const targets = new Map<SourceName, { ids: IdSet; genres: string[] }>();
    for (const ref of source.references) if (!targets.has(ref.target)) targets.set(ref.target, await liveTargets(db, ref.target, tick));
    return new References(source, targets);
  }

  add(key: string, record: Record<string, unknown>): void {
    let userLive = true;
    for (const ref of this.source.references ?? []) {
      const target = this.targets.get(ref.target) as { ids: IdSet; genres: string[] };
      const tally = this.orphans.get(ref.field) as Tally & { total: number };
      const value = record[ref.field];
      for (const id of Array.isArray(value) ? value : [value]) {
        tally.total++;
        const at = typeof id === 'number' ? target.ids.indexOf(id) : -1;
        if (at < 0) {
          tally.count++;
          if (tally.samples.length < 5 && !tally.samples.includes(key)) tally.samples.push(key);
          if (ref.target === 'users') userLive = false;
        } else if (ref.target === 'tracks') {
          const genre = target.genres[at] as string;
          this.genres.set(genre, (this.genres.get(genre) ?? 0) + 1);
        }
      }
    }
    const items = Array.isArray(record.items) ? record.items.length : 0;
    this.histories++;
    this.listens += items;
    this.lengths.set(items, (this.lengths.get(items) ?? 0) + 1);
    if (items > 0 && userLive) this.usersWithListens++;
  }

  kpis(kpis: SourceKpis): void {
    const histogram: Record<string, number> = {};
    for (const [length, n] of [...this.lengths.entries()].sort((a, b) => a[0] - b[0])) histogram[String(length)] = n;
    kpis.historyLength = {
      mean: this.histories === 0 ? 0 : Math.round((this.listens / this.histories) * 1000) / 1000,
      p50: percentile(this.lengths, this.histories, 0.5),
      p90: percentile(this.lengths, this.histories, 0.9),
      max: this.lengths.size === 0 ? 0 : Math.max(...this.lengths.keys()),
      histogram,
    };
    kpis.usersWithListens = this.usersWithListens;
    kpis.topGenres = top(this.genres, 10).map(([genre, n]) => ({ genre, listens: n }));
  }

  results(quality: QualitySettings): CheckResult[] {
    const results: CheckResult[] = [];
    for (const ref of this.source.references ?? []) {
      const tally = this.orphans.get(ref.field) as Tally & { total: number };
      const r = rateCheck(ref.check, quality.checks[ref.check], ref.field, tally.count, tally.total, tally.samples, `${ref.field} values point at no live ${ref.target} record`);
      if (r) results.push(r);
    }
    return results;
  }
}

/** Records stored by the source in earlier successful runs, the most recent first. */
async function earlierVolumes(db: Db, input: CheckSourceInput, lookback: number): Promise<number[]> {
  const runs = await db.collection<PipelineRunDocument>(RUNS_COLLECTION).find({ status: 'COMPLETED' }).toArray();
  return runs
    .filter((r) => r._id !== input.workflowId && r.date < input.date && r.sources[input.source]?.status === 'COMPLETED')
    .sort((a, b) => (a.date === b.date ? b.started_at.getTime() - a.started_at.getTime() : a.date < b.date ? 1 : -1))
    .slice(0, lookback)
    .map((r) => storedRecords(r.sources[input.source] as SourceSummary));
}
