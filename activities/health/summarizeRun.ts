import type { Db } from 'mongodb';
import { SOURCES } from '../../sources/index.js';
import { worst } from './checks.js';
import type { QualitySettings } from '../../config/quality.js';
import type { CheckSourceResult, RunHealth, RunKpis } from '../../contracts/health.js';
import { SOURCE_NAMES, type SourceName } from '../../contracts/names.js';
import { QUALITY_REPORTS_COLLECTION } from '../../stores/qualityReports.js';
import { RUNS_COLLECTION } from '../../stores/runs.js';
import { QUARANTINE_COLLECTION } from '../../stores/quarantine.js';
import { ALERTS_COLLECTION } from '../../stores/alerts.js';
import { qualityReportsCollection } from '../../stores/qualityReports.js';
import { runsCollection } from '../../stores/runs.js';
import { collectionSize } from '../../stores/collectionSize.js';
import { readSourceRun } from '../../stores/sourceRuns.js';
import { historyCollectionName } from '../../stores/raw.js';

const DAY_MS = 86_400_000;

/** The collections whose sizes are tracked run over run. */
export function trackedCollections(): string[] {
  const names = SOURCE_NAMES.flatMap((s) => [SOURCES[s].rawCollection, historyCollectionName(SOURCES[s]), SOURCES[s].curatedCollection]);
  return [...names, QUARANTINE_COLLECTION, RUNS_COLLECTION, QUALITY_REPORTS_COLLECTION, ALERTS_COLLECTION];
}

/**
 * The tracked collections' sizes: a source's raw, history and curated collections as the
 * run's merge of it left them (its ledger's `sizes`), the rest, and a source the run did
 * not merge, measured now. In a backfill, where runs of other dates merge in between, a
 * source's sizes are those right after this run's own merge of it.
 */
async function trackedSizes(db: Db, runId: string): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const name of SOURCE_NAMES) {
    const source = SOURCES[name];
    const kept = (await readSourceRun(db, name, runId))?.sizes;
    if (!kept) continue;
    sizes[source.rawCollection] = kept.raw;
    sizes[historyCollectionName(source)] = kept.history;
    sizes[source.curatedCollection] = kept.curated;
  }
  const measured = trackedCollections().filter((name) => sizes[name] === undefined);
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const name of measured) sizes[name] = existing.has(name) ? await collectionSize(db, name) : 0;
  // In the order of trackedCollections, whichever way each was learnt.
  return Object.fromEntries(trackedCollections().map((name) => [name, sizes[name] as number]));
}

/** The run's health from its sources' check results: pure, so the gate is tested alone. */
export function runHealth(checks: CheckSourceResult[], failedSources: SourceName[], gate: QualitySettings['gate']): RunHealth {
  const counts = { pass: 0, warn: 0, fail: 0 };
  const sources: RunHealth['sources'] = {};
  for (const c of checks) {
    counts.pass += c.counts.pass;
    counts.warn += c.counts.warn;
    counts.fail += c.counts.fail;
    sources[c.source] = { status: c.status, failing: c.failing };
  }
  const reasons: string[] = [];
  if (failedSources.length > 0) reasons.push(`source failed: ${failedSources.join(', ')}`);
  const blocking = checks.filter((c) => c.blocking);
  if (gate === 'error' && blocking.length > 0) reasons.push(`failing checks: ${blocking.map((c) => `${c.source} ${c.failing.join(', ')}`).join('; ')}`);
  return {
    status: worst([...checks.map((c) => c.status), ...(failedSources.length > 0 ? ['fail' as const] : [])]),
    counts,
    sources,
    downstream: { allowed: reasons.length === 0, reason: reasons.length === 0 ? null : reasons.join('; ') },
  };
}

/**
 * Assembles the run's KPIs from its quality reports, collection sizes and recent runs,
 * and stores them, with the run's health, on its `pipeline_runs` document.
 */
export async function summarizeRun(
  deps: { db: Db; quality: QualitySettings },
  input: { workflowId: string; runId: string; date: string; startedAt: string; checks: CheckSourceResult[]; failedSources: SourceName[] },
): Promise<RunHealth> {
  const { db } = deps;
  const health = runHealth(input.checks, input.failedSources, deps.quality.gate);
  const reports = (await qualityReportsCollection(db).find({ workflow_id: input.workflowId }).toArray()).filter((r) => r.run_id === input.runId);
  const kpi = (s: SourceName) => reports.find((r) => r.source === s)?.kpis ?? null;
  const runsPerDay: RunKpis['runsPerDay'] = {};
  for (let back = 13; back >= 0; back--)
    runsPerDay[new Date(Date.parse(`${input.date}T00:00:00Z`) - back * DAY_MS).toISOString().slice(0, 10)] = { succeeded: 0, failed: 0 };
  // The fortnight's runs only: every run ever would make this step grow a little each day.
  const days = Object.keys(runsPerDay);
  const runs = await runsCollection(db)
    .find({ date: { $gte: days[0] as string, $lte: days[days.length - 1] as string } })
    .toArray();
  const self = runs.find((r) => r._id === input.workflowId);
  for (const r of runs) {
    const day = runsPerDay[r.date];
    if (!day || r._id === input.workflowId) continue;
    if (r.status === 'COMPLETED') day.succeeded++;
    else if (r.status === 'FAILED') day.failed++;
  }
  const today = runsPerDay[input.date] as { succeeded: number; failed: number };
  if (input.failedSources.length > 0) today.failed++;
  else today.succeeded++;

  const collectionSizes = await trackedSizes(db, input.runId);

  const users = kpi('users');
  const history = kpi('listen_history');
  const kpis: RunKpis = {
    liveUsers: users?.live ?? null,
    liveTracks: kpi('tracks')?.live ?? null,
    liveHistories: history?.live ?? null,
    newUsersPerDay: users?.newUsersPerDay ?? {},
    newUsersOnDate: users?.newUsersPerDay?.[input.date] ?? 0,
    historyLength: history?.historyLength ?? null,
    usersWithListens: history?.usersWithListens ?? null,
    topGenres: history?.topGenres ?? [],
    favoriteGenres: users?.favoriteGenres ?? [],
    durationMs: Date.now() - Date.parse(input.startedAt),
    sourceDurationsMs: Object.fromEntries(Object.entries(self?.sources ?? {}).map(([s, v]) => [s, v?.durationMs ?? 0])),
    collectionSizes,
    runsPerDay,
  };
  await runsCollection(db).updateOne({ _id: input.workflowId }, { $set: { health, kpis } });
  return health;
}
