import { ApplicationFailure, log } from '@temporalio/activity';
import got from 'got';
import type { Db } from 'mongodb';
import { renderSummary } from './summaryMessage.js';
import { alertsCollection, type AlertDocument } from '../../stores/alerts.js';
import { runsCollection } from '../../stores/runs.js';

export interface WebhookDeps {
  db: Db;
  /** ALERT_WEBHOOK_URL; a secret (a Slack hook's path is its credential): never logged. */
  webhookUrl: string | undefined;
}

export interface DeliveryResult {
  delivered: number;
  skipped: number;
  /** Why nothing was sent, when nothing was. */
  note: string | null;
}

const ICON: Record<AlertDocument['severity'], string> = { critical: ':red_circle:', warning: ':warning:' };

/** The Slack-compatible body of an alert: `text` is all a Slack or Mattermost hook needs. */
export function alertMessage(a: AlertDocument): { text: string } {
  return { text: `${ICON[a.severity]} *${a.severity.toUpperCase()}* ${a.rule} (run ${a.workflow_id}, ${a.date})\n${a.message}` };
}

/**
 * POSTs a JSON body to the webhook. A 429 or 5xx, a timeout or a connection error is
 * thrown as retryable (Temporal retries the activity); any other 4xx as non-retryable.
 * The URL never appears in errors or logs.
 */
export async function postToWebhook(url: string, body: unknown): Promise<void> {
  let status: number;
  try {
    const response = await got.post(url, { json: body, timeout: { request: 10_000 }, retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false });
    status = response.statusCode;
  } catch (err) {
    throw ApplicationFailure.retryable(`webhook unreachable: ${(err as { code?: string }).code ?? 'request failed'}`, 'WebhookUnreachable');
  }
  if (status >= 200 && status < 300) return;
  if (status === 429 || status >= 500 || status === 408) throw ApplicationFailure.retryable(`webhook answered ${status}`, 'WebhookRetryableStatus');
  throw ApplicationFailure.nonRetryable(`webhook answered ${status}`, 'WebhookRejected');
}

/**
 * Sends every open alert not yet delivered: those the run opened, and those an earlier
 * run could not deliver (the webhook was down). Delivered ones are never sent again.
 */
export async function deliverAlerts(deps: WebhookDeps, input: { workflowId: string; runId: string }): Promise<DeliveryResult> {
  const alerts = alertsCollection(deps.db);
  const pending = (await alerts.find({ status: 'open' }).toArray())
    .filter((a) => a.delivery.status === 'pending')
    .sort((a, b) => a.opened_at.getTime() - b.opened_at.getTime() || (a._id < b._id ? -1 : 1));
  if (!deps.webhookUrl) {
    for (const a of pending)
      await alerts.updateOne({ _id: a._id }, { $set: { 'delivery.status': 'skipped', 'delivery.error': 'ALERT_WEBHOOK_URL is not set' } });
    return { delivered: 0, skipped: pending.length, note: pending.length > 0 ? 'ALERT_WEBHOOK_URL is not set: alerts stored, not sent' : null };
  }
  let delivered = 0;
  for (const a of pending) {
    try {
      await postToWebhook(deps.webhookUrl, alertMessage(a));
    } catch (err) {
      await alerts.updateOne({ _id: a._id }, { $inc: { 'delivery.attempts': 1 }, $set: { 'delivery.error': (err as Error).message } });
      throw err;
    }
    await alerts.updateOne(
      { _id: a._id },
      { $inc: { 'delivery.attempts': 1 }, $set: { 'delivery.status': 'delivered', 'delivery.delivered_at': new Date(), 'delivery.error': null } },
    );
    delivered++;
  }
  if (delivered > 0) log.info('alerts delivered', { workflowId: input.workflowId, delivered });
  return { delivered, skipped: 0, note: null };
}

/** Sends the run's daily summary (status, counts, checks, KPIs, open alerts). */
export async function deliverSummary(deps: WebhookDeps, input: { workflowId: string }): Promise<DeliveryResult> {
  if (!deps.webhookUrl) return { delivered: 0, skipped: 1, note: 'ALERT_WEBHOOK_URL is not set: no summary sent' };
  const run = await runsCollection(deps.db).findOne({ _id: input.workflowId });
  if (!run) throw ApplicationFailure.nonRetryable(`no run ${input.workflowId} to summarise`, 'NoRun');
  const open = await alertsCollection(deps.db).find({ status: 'open' }).toArray();
  await postToWebhook(deps.webhookUrl, { text: renderSummary(run, open) });
  return { delivered: 1, skipped: 0, note: null };
}
