import type { Db } from 'mongodb';
import type { PipelineDrift, PipelineRecommendations } from '../contracts/pipeline.js';
import type { PipelineRunDocument, RunReport } from '../contracts/runs.js';

/** One document per daily run, keyed by workflow id (a re-run of a date replaces it). */
export const RUNS_COLLECTION = 'pipeline_runs';

export const runsCollection = (db: Db) => db.collection<PipelineRunDocument>(RUNS_COLLECTION);

/**
 * Writes the run's record as the workflow reports it: at its start (fields of an earlier
 * run of the same workflow id that it does not own, health, KPIs and recommendations, are
 * cleared) and at its end (they are kept). Writing the same state twice is harmless.
 */
export async function writeRunReport(db: Db, report: RunReport): Promise<void> {
  const { _id, ...fields }: PipelineRunDocument = {
    _id: report.workflowId,
    run_id: report.runId,
    date: report.date,
    status: report.status,
    started_at: new Date(report.startedAt),
    finished_at: report.finishedAt === null ? null : new Date(report.finishedAt),
    duration_ms: report.durationMs,
    sources: report.sources,
  };
  await runsCollection(db).updateOne(
    { _id },
    report.status === 'RUNNING' ? { $set: fields, $unset: { health: '', kpis: '', recommendations: '' } } : { $set: fields },
    { upsert: true },
  );
}

/** What the run's recommendation step did; a failed step fails the run, so that a backfill runs the date again. */
export async function setRunRecommendations(db: Db, workflowId: string, recommendations: PipelineRecommendations): Promise<void> {
  const failed = recommendations.status === 'failed';
  await runsCollection(db).updateOne({ _id: workflowId }, { $set: { recommendations, ...(failed ? { status: 'FAILED' as const } : {}) } });
}

/** The drift check's outcome (it never fails a run). */
export async function setRunDrift(db: Db, workflowId: string, drift: PipelineDrift): Promise<void> {
  await runsCollection(db).updateOne({ _id: workflowId }, { $set: { drift } });
}
