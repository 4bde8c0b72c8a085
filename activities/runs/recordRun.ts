import type { Db } from 'mongodb';
import type { PipelineRunDocument, RunReport } from './types.js';

export const RUNS_COLLECTION = 'pipeline_runs';

export function createRunActivities({ db }: { db: Db }) {
  return {
    /**
     * Writes the run's one statistics record (`_id` = the run id). Called when the run
     * starts and when it ends; writing the same state twice is harmless.
     */
    async recordRun(report: RunReport): Promise<void> {
      const fields: Omit<PipelineRunDocument, '_id'> = {
        workflow_id: report.workflowId,
        date: report.date,
        status: report.status,
        started_at: new Date(report.startedAt),
        finished_at: report.finishedAt === null ? null : new Date(report.finishedAt),
        duration_ms: report.durationMs,
        sources: report.sources,
      };
      await db.collection<PipelineRunDocument>(RUNS_COLLECTION).updateOne({ _id: report.runId }, { $set: fields }, { upsert: true });
    },
  };
}
