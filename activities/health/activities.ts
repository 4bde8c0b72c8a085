import type { Db } from 'mongodb';
import { evaluateAlerts } from './alerts.js';
import { checkSource } from './checkSource.js';
import type { QualitySettings } from '../../config/quality.js';
import { summarizeRun } from './summarizeRun.js';
import type { CheckSourceInput, CheckSourceResult } from '../../contracts/health.js';
import { deliverAlerts, deliverSummary } from './webhook.js';
import type { SourceName } from '../../contracts/names.js';

export interface HealthDeps {
  db: Db;
  quality: QualitySettings;
  /** ALERT_WEBHOOK_URL, if set. */
  alertWebhookUrl: string | undefined;
}

/** The health step of a run: checks per source, KPIs, alerts, delivery. */
export function createHealthActivities(deps: HealthDeps) {
  const webhook = { db: deps.db, webhookUrl: deps.alertWebhookUrl };
  return {
    checkSource: (input: CheckSourceInput) => checkSource(deps, input),
    summarizeRun: (input: { workflowId: string; runId: string; date: string; startedAt: string; checks: CheckSourceResult[]; failedSources: SourceName[] }) =>
      summarizeRun(deps, input),
    evaluateAlerts: (input: { workflowId: string }) => evaluateAlerts({ db: deps.db, alerts: deps.quality.alerts }, input),
    deliverAlerts: (input: { workflowId: string; runId: string }) => deliverAlerts(webhook, input),
    deliverSummary: (input: { workflowId: string }) => deliverSummary(webhook, input),
  };
}
