import { log } from '@temporalio/activity';
import type { Db } from 'mongodb';
import type { PipelineRunDocument, RunReport } from './types.js';

export const RUNS_COLLECTION = 'pipeline_runs';

export function createRunActivities({ db }: { db: Db }) {
  return {
    /**
     * Writes the run's one statistics record (`_id` = the workflow id). Called when the
     * run starts and when it ends; writing the same state twice is harmless.
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
      await db.collection<PipelineRunDocument>(RUNS_COLLECTION).replaceOne({ _id: doc._id }, doc, { upsert: true });
      log.info(report.status === 'RUNNING' ? 'run started' : 'run finished', {
        workflowId: report.workflowId,
        runId: report.runId,
        date: report.date,
        status: report.status,
        durationMs: report.durationMs,
      });
    },
  };
}
