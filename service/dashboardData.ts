import type { Db } from 'mongodb';
import { feedbackSummary, type FeedbackSummary } from '../stores/feedback/summary.js';
import type { RunKpis } from '../contracts/health.js';
import { alertsCollection } from '../stores/alerts.js';
import { MODEL_VERSIONS, type ModelVersionDocument } from '../stores/modelRegistry.js';
import { runsCollection } from '../stores/runs.js';

/** One run as the dashboard charts it: figures only. */
export interface RunPoint {
  id: string;
  date: string;
  status: string;
  startedAt: string;
  durationMs: number | null;
  /** Records fetched per source. */
  records: Record<string, number>;
  /** Invalid / fetched, all sources. */
  invalidRate: number;
  /** Retries / requests, all sources. */
  retryRate: number;
  checks: { pass: number; warn: number; fail: number } | null;
  health: string | null;
}

export interface DashboardData {
  generatedAt: string;
  runs: RunPoint[];
  kpis: { run: string; date: string; values: RunKpis } | null;
  alerts: { key: string; severity: string; status: string; message: string; date: string; occurrences: number; lastSeenAt: string }[];
  models: { name: string; version: number; family: string; createdAt: string; metrics: Record<string, number> }[];
  /** Live feedback per model version: totals, and per day over the last 30 days. */
  feedback: FeedbackSummary;
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : Math.round((a / b) * 1e6) / 1e6);

/** What the dashboard shows, read from the database: the latest `limit` runs, oldest first. */
export async function dashboardData(db: Db, limit = 30): Promise<DashboardData> {
  const runs = await runsCollection(db).find().sort({ started_at: -1 }).limit(limit).toArray();
  runs.reverse();
  const points: RunPoint[] = runs.map((r) => {
    // Records written by earlier versions of the pipeline may lack some figures: they count as 0.
    const sources = Object.entries(r.sources ?? {}).filter((e): e is [string, NonNullable<(typeof e)[1]>] => e[1] !== undefined && e[1] !== null);
    const sum = (f: (s: (typeof sources)[number][1]) => number | undefined) => sources.reduce((a, [, s]) => a + (f(s) ?? 0), 0);
    return {
      id: r._id,
      date: r.date,
      status: r.status,
      startedAt: r.started_at.toISOString(),
      durationMs: r.duration_ms,
      records: Object.fromEntries(sources.map(([name, s]) => [name, s.fetched ?? 0])),
      invalidRate: ratio(
        sum((s) => s.invalid),
        sum((s) => s.fetched),
      ),
      retryRate: ratio(
        sum((s) => Object.values(s.retries ?? {}).reduce((a, n) => a + n, 0)),
        sum((s) => s.requests),
      ),
      checks: r.health?.counts ?? null,
      health: r.health?.status ?? null,
    };
  });
  const withKpis = [...runs].reverse().find((r) => r.kpis);
  const alerts = (await alertsCollection(db).find({}).toArray())
    .sort((a, b) => (a.status === b.status ? b.last_seen_at.getTime() - a.last_seen_at.getTime() : a.status === 'open' ? -1 : 1))
    .slice(0, 20)
    .map((a) => ({
      key: a.key,
      severity: a.severity,
      status: a.status,
      message: a.message,
      date: a.date,
      occurrences: a.occurrences,
      lastSeenAt: a.last_seen_at.toISOString(),
    }));
  // The model registry (retraining) writes model_versions; until then there is nothing to chart.
  const models = (await db.collection<ModelVersionDocument>(MODEL_VERSIONS).find({}).toArray())
    .sort((a, b) => a.created_at.getTime() - b.created_at.getTime())
    .map((m) => ({ name: m.name, version: m.version, family: m.family, createdAt: m.created_at.toISOString(), metrics: m.metrics ?? {} }));
  return {
    generatedAt: new Date().toISOString(),
    runs: points,
    kpis: withKpis?.kpis ? { run: withKpis._id, date: withKpis.date, values: withKpis.kpis } : null,
    alerts,
    models,
    feedback: await feedbackSummary(db, { days: 30 }),
  };
}
