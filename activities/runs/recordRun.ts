import { log } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { NO_METRICS, type PipelineMetrics } from './metrics.js';
import type { PipelineDrift, PipelineRecommendations } from '../../contracts/pipeline.js';
import type { RunReport } from '../../contracts/runs.js';
import { setRunDrift, setRunRecommendations, writeRunReport } from '../../stores/runs.js';

export function createRunActivities({ db, metrics = NO_METRICS }: { db: Db; metrics?: PipelineMetrics }) {
  return {
    /** The run's one statistics record (`_id` = the workflow id), when the run starts and when it ends. */
    async recordRun(report: RunReport): Promise<void> {
      await writeRunReport(db, report);
      if (report.status !== 'RUNNING') metrics.runFinished(report);
      log.info(report.status === 'RUNNING' ? 'run started' : 'run finished', {
        workflowId: report.workflowId,
        runId: report.runId,
        date: report.date,
        status: report.status,
        durationMs: report.durationMs,
      });
    },

    /** What the run's recommendation step did: published (with its figures), skipped or failed. */
    async recordRecommendations(input: { workflowId: string; recommendations: PipelineRecommendations }): Promise<void> {
      await setRunRecommendations(db, input.workflowId, input.recommendations);
    },

    /** The drift check's outcome on the run record. */
    async recordDrift(input: { workflowId: string; drift: PipelineDrift }): Promise<void> {
      await setRunDrift(db, input.workflowId, input.drift);
    },
  };
}
