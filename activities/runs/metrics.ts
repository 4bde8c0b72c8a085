import type { MetricMeter } from '@temporalio/common';
import type { RunReport } from '../../contracts/runs.js';

/** The pipeline's own Prometheus series; the worker exports them beside the SDK's. */
export interface PipelineMetrics {
  /** Called once per finished run, with its final report. */
  runFinished(report: RunReport): void;
}

export const NO_METRICS: PipelineMetrics = { runFinished() {} };

export const RECORD_OUTCOMES = ['fetched', 'inserted', 'updated', 'unchanged', 'tombstoned', 'duplicates', 'invalid'] as const;

/**
 * Metrics through the Temporal runtime's meter, so that one Prometheus endpoint (the
 * runtime's) serves the SDK's series and ours. A run is counted once per worker
 * process even if its recording activity is retried.
 */
export function createRuntimeMetrics(meter: MetricMeter): PipelineMetrics {
  const records = meter.createCounter(
    'moovitamix_records',
    'records',
    'Records per source and outcome (fetched, inserted, updated, unchanged, tombstoned, duplicates, invalid)',
  );
  const invalid = meter.createCounter('moovitamix_invalid_records', 'records', 'Records quarantined as invalid, per source');
  const runs = meter.createCounter('moovitamix_runs', 'runs', 'Finished pipeline runs, per status');
  const duration = meter.createGauge('moovitamix_run_duration_seconds', 'float', 's', 'Duration of the last finished run');
  const lastSuccess = meter.createGauge('moovitamix_last_success_timestamp_seconds', 'int', 's', 'Unix time of the last successful run');
  const counted = new Set<string>();
  return {
    runFinished(report) {
      if (counted.has(report.runId)) return;
      counted.add(report.runId);
      runs.add(1, { status: report.status });
      if (report.durationMs !== null) duration.set(report.durationMs / 1000);
      if (report.status === 'COMPLETED') lastSuccess.set(Math.floor(Date.now() / 1000));
      for (const [source, s] of Object.entries(report.sources)) {
        if (!s) continue;
        for (const outcome of RECORD_OUTCOMES) if (s[outcome] > 0) records.add(s[outcome], { source, outcome });
        if (s.invalid > 0) invalid.add(s.invalid, { source });
      }
    },
  };
}

/** Process CPU and memory, sampled every few seconds into gauges of the same meter. */
export function startProcessMetrics(meter: MetricMeter, everyMs = 5_000): () => void {
  const cpu = meter.createGauge('moovitamix_process_cpu_seconds', 'float', 's', 'CPU time of the worker process (user + system)');
  const rss = meter.createGauge('moovitamix_process_resident_memory_bytes', 'int', 'By', 'Resident memory of the worker process');
  const heap = meter.createGauge('moovitamix_process_heap_used_bytes', 'int', 'By', 'V8 heap in use in the worker process');
  const sample = () => {
    const usage = process.cpuUsage();
    cpu.set((usage.user + usage.system) / 1e6);
    const memory = process.memoryUsage();
    rss.set(memory.rss);
    heap.set(memory.heapUsed);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
