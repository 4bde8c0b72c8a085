import { log } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { evaluateRules } from './alertRules.js';
import type { AlertSettings } from '../../config/quality.js';
import type { AlertOutcome } from '../../contracts/health.js';
import { type AlertDocument, alertsCollection } from '../../stores/alerts.js';
import { RUNS_COLLECTION } from '../../stores/runs.js';
import { qualityReportsCollection } from '../../stores/qualityReports.js';
import { runsCollection } from '../../stores/runs.js';

/** Applies every rule to a finished run and updates `alerts`; running it twice changes nothing more. */
export async function evaluateAlerts(deps: { db: Db; alerts: AlertSettings }, input: { workflowId: string }): Promise<AlertOutcome> {
  const { db } = deps;
  const runs = runsCollection(db);
  const run = await runs.findOne({ _id: input.workflowId });
  if (!run) throw new Error(`no run ${input.workflowId} in ${RUNS_COLLECTION}`);
  const others = (await runs.find({}).toArray()).filter((r) => r._id !== run._id);
  const reports = (await qualityReportsCollection(db).find({ workflow_id: run._id }).toArray()).filter((r) => r.run_id === run.run_id);
  const triggers = evaluateRules(run, reports, others, deps.alerts);

  const alerts = alertsCollection(db);
  const open = await alerts.find({ status: 'open' }).toArray();
  const now = new Date();
  const outcome: AlertOutcome = { opened: 0, ongoing: 0, resolved: 0, open: { critical: 0, warning: 0 } };
  const triggered = new Set<string>();
  for (const t of triggers) {
    triggered.add(t.key);
    const existing = open.find((a) => a.key === t.key);
    if (existing) {
      outcome.ongoing++;
      if (existing.last_seen_run_id !== run.run_id) {
        await alerts.updateOne(
          { _id: existing._id },
          { $set: { last_seen_workflow_id: run._id, last_seen_run_id: run.run_id, last_seen_at: now, message: t.message }, $inc: { occurrences: 1 } },
        );
      }
      continue;
    }
    const doc: AlertDocument = {
      _id: `${t.key}@${run.run_id}`,
      ...t,
      status: 'open',
      workflow_id: run._id,
      run_id: run.run_id,
      date: run.date,
      opened_at: now,
      last_seen_workflow_id: run._id,
      last_seen_run_id: run.run_id,
      last_seen_at: now,
      occurrences: 1,
      resolved_at: null,
      resolved_by: null,
      delivery: { status: 'pending', attempts: 0, delivered_at: null, error: null },
    };
    // A retried attempt finds the alert it opened before: same _id, nothing new.
    const written = await alerts.updateOne({ _id: doc._id }, { $setOnInsert: doc }, { upsert: true });
    if (written.upsertedCount === 1) {
      outcome.opened++;
      outcome.open[t.severity]++;
      log.warn('alert opened', { key: t.key, severity: t.severity, workflowId: run._id });
    } else {
      outcome.ongoing++;
    }
  }
  for (const a of open) {
    if (triggered.has(a.key) || a.run_id === run.run_id) {
      outcome.open[a.severity]++;
      continue;
    }
    await alerts.updateOne({ _id: a._id, status: 'open' }, { $set: { status: 'resolved', resolved_at: now, resolved_by: run._id } });
    outcome.resolved++;
  }
  return outcome;
}
