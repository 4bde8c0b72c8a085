import { log } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { NO_METRICS, type PipelineMetrics } from './metrics.js';
import type { PipelineDrift, PipelineRecommendations } from '../../contracts/pipeline.js';
import type { PipelineRunDocument, RunReport } from '../../contracts/runs.js';

export const RUNS_COLLECTION = 'pipeline_runs';

export function createRunActivities({ db, metrics = NO_METRICS }: { db: Db; metrics?: PipelineMetrics }) {
  return {
    /**
     * Writes the run's one statistics record (`_id` = the workflow id). Called when the
     * run starts and when it ends; writing the same state twice is harmless. Fields it
     * does not own (health, KPIs) are kept, except at the start, where those of an earlier
     * run of the same workflow id are cleared.
     */
    async recordRun(report: RunReport): Promise<void> {
      const doc: PipelineRunDocument = {
        _id: report.workflowId,
        run_id: report.runId,
        date: report.date,
        status: report.status,
        started_at: new Date(report.startedAt),
        finished_at: report.finishedAt === null ? null : new Date(report.finishedAt),
        duration_ms: report.durationMs,
        sources: report.sources,
      };
      const { _id, ...fields } = doc;
      await db
        .collection<PipelineRunDocument>(RUNS_COLLECTION)
        .updateOne({ _id }, report.status === 'RUNNING' ? { $set: fields, $unset: { health: '', kpis: '', recommendations: '' } } : { $set: fields }, {
          upsert: true,
        });
      if (report.status !== 'RUNNING') metrics.runFinished(report);
      log.info(report.status === 'RUNNING' ? 'run started' : 'run finished', {
        workflowId: report.workflowId,
        runId: report.runId,
        date: report.date,
        status: report.status,
        durationMs: report.durationMs,
      });
    },

    /**
     * What the run's recommendation step did: published (with its figures), skipped or
     * failed. A failed step fails the run, so that a backfill runs the date again.
     */
    async recordRecommendations(input: { workflowId: string; recommendations: PipelineRecommendations }): Promise<void> {
      const failed = input.recommendations.status === 'failed';
      await db
        .collection<PipelineRunDocument>(RUNS_COLLECTION)
        .updateOne({ _id: input.workflowId }, { $set: { recommendations: input.recommendations, ...(failed ? { status: 'FAILED' as const } : {}) } });
    },

    /** The drift check's outcome on the run record (it never fails a run). */
    async recordDrift(input: { workflowId: string; drift: PipelineDrift }): Promise<void> {
      await db.collection<PipelineRunDocument>(RUNS_COLLECTION).updateOne({ _id: input.workflowId }, { $set: { drift: input.drift } });
    },
  };
}
