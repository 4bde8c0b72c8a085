import { Context, log } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { SOURCES, type SourceDescription } from '../../sources/index.js';
import { quarantineCollection } from '../../stores/quarantine.js';
import { rawCollection } from '../../stores/raw.js';
import { checkLabel, countStatuses, fieldChecks, freshnessCheck, rateCheck, summaryChecks, volumeCheck, worst } from './checks.js';
import { keyIndexGeneration, openKeyIndex } from '../ingest/merge/keyIndex.js';
import { IdSet, RecordProfiler, percentile, top } from '../ingest/profile.js';
import { readSourceRun, type SourceRunDocument } from '../../stores/sourceRuns.js';
import type { QualitySettings } from '../../config/quality.js';
import type { CheckResult, CheckSourceInput, CheckSourceResult, QualityReportDocument, SourceKpis } from '../../contracts/health.js';
import type { SourceName } from '../../contracts/names.js';
import type { Tally } from '../../contracts/health.js';
import type { SourceSummary } from '../../contracts/ingest.js';
import { qualityReportsCollection } from '../../stores/qualityReports.js';
import { runsCollection } from '../../stores/runs.js';
import { REFERENCE_COUNTS_VERSION, referenceCountsCollection, type ReferenceCounts } from '../../stores/referenceCounts.js';

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
 * `<workflow id>/<source>`, so a retry replaces it). It reads no record again: the field
 * profile and the KPIs come from what the merge kept in the source's ledger
 * (ingest/sourceRuns.ts), the invalid and duplicate records from quarantine, and the
 * referential checks join the ids the records point at with the targets' live ids, counted
 * from the key indexes once per generation of them (referenceCounts).
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
    // Invalid records of this run, and the keys it served twice, from quarantine; a run
    // that quarantined nothing (most days) reads nothing there, however much it holds.
    const duplicateKeys = new Set<string>();
    const quarantined = input.summary.invalid + input.summary.duplicates > 0;
    for await (const q of quarantined ? quarantineCollection(db).find({ run_id: input.runId, source: input.source }, { batchSize: BATCH }) : []) {
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
    }
    const merged = await readSourceRun(db, input.source, input.runId);
    if (!merged) {
      throw ApplicationFailure.nonRetryable(
        `no merge of ${input.source} is recorded for run ${input.runId}: its merge ran before the ledger existed; run the day again`,
        'ProfileMissing',
      );
    }
    profiler.absorb(merged.profile);
    const references = await referenceCounts(db, source, input.runId, tick);
    kpis = liveKpis(input, merged);
    if (references) historyKpis(kpis, merged, references);
    results.push(...fieldChecks(profiler, quality.checks, Object.keys(source.acceptedValues ?? {})));
    if (references) results.push(...referenceChecks(source, merged, references, quality));
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
  await qualityReportsCollection(db).replaceOne({ _id: report._id }, report, { upsert: true });
  log.info('checks done', { workflowId: input.workflowId, source: input.source, status, ...counts, failing });
  return { source: input.source, status, counts, blocking: report.blocking, failing };
}

/** The KPIs of the live records, from the aggregates the merge kept. */
function liveKpis(input: CheckSourceInput, merged: SourceRunDocument): SourceKpis {
  const kpis: SourceKpis = { live: merged.live };
  if (input.source === 'users') {
    const startOfWindow = Date.parse(`${input.date}T00:00:00Z`) - 29 * 86_400_000;
    kpis.newUsersPerDay = {};
    for (let i = 0; i < 30; i++) {
      const day = new Date(startOfWindow + i * 86_400_000).toISOString().slice(0, 10);
      kpis.newUsersPerDay[day] = merged.created_days?.[day] ?? 0;
    }
    kpis.favoriteGenres = top(new Map(Object.entries(merged.favorite_genres ?? {})), 10).map(([genre, users]) => ({ genre, users }));
  }
  return kpis;
}

type Target = { ids: IdSet; labels: string[] };
/** The ids one reference field of the live records points at, and how often. */
type Referenced = { ids: Float64Array; counts: Uint32Array };

/**
 * A source's live ids, ascending, with their labels (track genres): from its key index,
 * or from its curated collection (ids and labels only) while a merge is writing the index.
 */
async function liveTargets(db: Db, name: SourceName, tick: () => void): Promise<Target> {
  const rows: [number, string][] = [];
  const index = await openKeyIndex(db, SOURCES[name], null);
  if (index) {
    for await (const chunk of index.chunks()) for (const [key, s, x] of chunk) if (s.deletedIn === null) rows.push([Number(key), x.label]);
  } else {
    for await (const doc of db
      .collection<{ id: number; genres?: string }>(SOURCES[name].curatedCollection)
      .find({}, { projection: { id: 1, genres: 1 }, batchSize: BATCH })) {
      tick();
      rows.push([doc.id, doc.genres ?? '']);
    }
  }
  rows.sort((a, b) => a[0] - b[0]);
  return {
    ids: new IdSet(
      Float64Array.from(rows, (r) => r[0]),
      true,
    ),
    labels: rows.map((r) => r[1]),
  };
}

/**
 * The ids the live records of a source point at, per reference field (the key itself, or
 * the source's indexed values: a history's tracks), and the keys whose values are not
 * empty: from its key index, or from the raw layer while a merge is writing the index.
 */
async function referencedIds(db: Db, source: SourceDescription, tick: () => void): Promise<{ fields: Map<string, Referenced>; nonEmpty: number[] }> {
  const counts = new Map<string, Map<number, number>>((source.references ?? []).map((r) => [r.field, new Map()]));
  const nonEmpty: number[] = [];
  const add = (key: string, values: ArrayLike<number>) => {
    for (const [field, c] of counts) {
      const ids = field === source.keyField ? [Number(key)] : Array.from(values);
      for (const id of ids) c.set(id, (c.get(id) ?? 0) + 1);
    }
    if (values.length > 0) nonEmpty.push(Number(key));
  };
  const index = await openKeyIndex(db, source, null);
  if (index) {
    for await (const chunk of index.chunks()) for (const [key, s, x] of chunk) if (s.deletedIn === null) add(key, x.values);
  } else {
    for await (const doc of rawCollection(db, source).find({ deleted_in_run: null }, { projection: { record: 1 }, batchSize: BATCH })) {
      tick();
      const values = source.indexed?.values?.(doc.record) ?? [];
      add(doc._id, values);
    }
  }
  const fields = new Map<string, Referenced>();
  for (const [field, c] of counts) {
    const ids = Float64Array.from(c.keys()).sort();
    fields.set(field, { ids, counts: Uint32Array.from(ids, (id) => c.get(id) as number) });
  }
  return { fields, nonEmpty };
}

/**
 * What the referential checks and the history KPIs need, counted from the live ids the
 * records point at and the targets' live ids: key indexes, a few documents each, not a
 * record read again.
 */
async function countReferences(db: Db, source: SourceDescription, tick: () => void): Promise<ReferenceCounts> {
  const targets = new Map<SourceName, Target>();
  for (const ref of source.references ?? []) if (!targets.has(ref.target)) targets.set(ref.target, await liveTargets(db, ref.target, tick));
  const referenced = await referencedIds(db, source, tick);
  const fields: ReferenceCounts['fields'] = {};
  for (const ref of source.references ?? []) {
    const target = targets.get(ref.target) as Target;
    const refs = referenced.fields.get(ref.field) ?? { ids: new Float64Array(0), counts: new Uint32Array(0) };
    let [total, orphans] = [0, 0];
    const orphanIds: number[] = [];
    refs.ids.forEach((id, i) => {
      const n = refs.counts[i] as number;
      total += n;
      if (!target.ids.has(id)) {
        orphans += n;
        orphanIds.push(id);
      }
    });
    fields[ref.field] = { total, orphans, samples: await samplesPointingAt(db, source, ref.field, orphanIds) };
  }
  const users = targets.get('users');
  const usersWithListens = users ? referenced.nonEmpty.filter((id) => users.ids.has(id)).length : 0;
  const genres = new Map<string, number>();
  const tracks = targets.get('tracks');
  const listened = referenced.fields.get('items');
  if (tracks && listened) {
    listened.ids.forEach((id, i) => {
      const at = tracks.ids.indexOf(id);
      if (at >= 0) {
        const genre = tracks.labels[at] ?? '';
        genres.set(genre, (genres.get(genre) ?? 0) + (listened.counts[i] as number));
      }
    });
  }
  return { fields, usersWithListens, topGenres: top(genres, 10).map(([genre, n]) => ({ genre, listens: n })) };
}

/** A few keys of live records pointing at these ids: the ids themselves when the field is the key. */
async function samplesPointingAt(db: Db, source: SourceDescription, field: string, ids: number[]): Promise<string[]> {
  if (ids.length === 0) return [];
  if (field === source.keyField) return ids.slice(0, 5).map(String);
  const docs = await rawCollection(db, source)
    .find({ [`record.${field}`]: { $in: ids.slice(0, 100) }, deleted_in_run: null }, { projection: { _id: 1 } })
    .limit(5)
    .toArray();
  return docs.map((d) => d._id);
}

/** The generations of the key indexes the counts of a source are made from; null while a merge writes one. */
async function referenceGenerations(db: Db, source: SourceDescription): Promise<Partial<Record<SourceName, string>> | null> {
  const generations: Partial<Record<SourceName, string>> = {};
  for (const name of new Set([source.name, ...(source.references ?? []).map((r) => r.target)])) {
    const generation = await keyIndexGeneration(db, SOURCES[name]);
    if (generation === null) return null;
    generations[name] = generation;
  }
  return generations;
}

const sameGenerations = (a: Partial<Record<SourceName, string>>, b: Partial<Record<SourceName, string>>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * A source's reference counts: kept with the key index generations they were made from,
 * and taken again by any run while none of those indexes changed (a day where no source
 * changed reads no index). Counted afresh, and not kept, while a merge writes one of them.
 */
async function referenceCounts(db: Db, source: SourceDescription, runId: string, tick: () => void): Promise<ReferenceCounts | null> {
  if (!source.references) return null;
  const generations = await referenceGenerations(db, source);
  const kept = generations && (await referenceCountsCollection(db).findOne({ _id: source.name }));
  if (generations && kept?.version === REFERENCE_COUNTS_VERSION && sameGenerations(kept.generations, generations)) return kept.counts;
  const counts = await countReferences(db, source, tick);
  // Kept only when no merge wrote an index while they were counted.
  const after = await referenceGenerations(db, source);
  if (generations && after && sameGenerations(generations, after))
    await referenceCountsCollection(db).replaceOne(
      { _id: source.name },
      { version: REFERENCE_COUNTS_VERSION, generations, counts, run_id: runId, counted_at: new Date() },
      { upsert: true },
    );
  return counts;
}

/** The listen-history KPIs: lengths from the ledger, the rest from the reference counts. */
function historyKpis(kpis: SourceKpis, merged: SourceRunDocument, counts: ReferenceCounts): void {
  const lengths = new Map(Object.entries(merged.history_lengths ?? {}).map(([k, v]) => [Number(k), v]));
  let histories = 0;
  let listens = 0;
  for (const [length, n] of lengths) {
    histories += n;
    listens += length * n;
  }
  const histogram: Record<string, number> = {};
  for (const [length, n] of [...lengths.entries()].sort((a, b) => a[0] - b[0])) histogram[String(length)] = n;
  kpis.historyLength = {
    mean: histories === 0 ? 0 : Math.round((listens / histories) * 1000) / 1000,
    p50: percentile(lengths, histories, 0.5),
    p90: percentile(lengths, histories, 0.9),
    max: lengths.size === 0 ? 0 : Math.max(...lengths.keys()),
    histogram,
  };
  kpis.usersWithListens = counts.usersWithListens;
  kpis.topGenres = counts.topGenres;
}

/** Referential integrity of live records: keys pointing at no live record of the target source (orphans), values that are not ids included. */
function referenceChecks(source: SourceDescription, merged: SourceRunDocument, counts: ReferenceCounts, quality: QualitySettings): CheckResult[] {
  const results: CheckResult[] = [];
  for (const ref of source.references ?? []) {
    const field = counts.fields[ref.field] ?? { total: 0, orphans: 0, samples: [] };
    const notIds = merged.not_ids?.[ref.field] ?? { count: 0, samples: [] };
    const r = rateCheck(
      ref.check,
      quality.checks[ref.check],
      ref.field,
      notIds.count + field.orphans,
      notIds.count + field.total,
      [...notIds.samples, ...field.samples].slice(0, 5),
      `${ref.field} values point at no live ${ref.target} record`,
    );
    if (r) results.push(r);
  }
  return results;
}

/** Records stored by the source in earlier successful runs, the most recent first. */
async function earlierVolumes(db: Db, input: CheckSourceInput, lookback: number): Promise<number[]> {
  // The newest runs before this date, this source's counts only: not every run record ever kept.
  const field = `sources.${input.source}`;
  const runs = await runsCollection(db)
    .find(
      { status: 'COMPLETED', date: { $lt: input.date }, [`${field}.status`]: 'COMPLETED' },
      { projection: { date: 1, started_at: 1, [`${field}.status`]: 1, [`${field}.inserted`]: 1, [`${field}.updated`]: 1, [`${field}.unchanged`]: 1 } },
    )
    .sort({ date: -1, started_at: -1 })
    .limit(lookback + 1)
    .toArray();
  return runs
    .filter((r) => r._id !== input.workflowId)
    .slice(0, lookback)
    .map((r) => storedRecords(r.sources[input.source] as SourceSummary));
}
