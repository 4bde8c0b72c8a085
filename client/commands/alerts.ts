import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/config.js';
import { table } from '../format.js';
import { withDb } from '../mongo.js';
import { UsageError } from '../../config/usageError.js';
import { alertsCollection, type AlertDocument } from '../../stores/alerts.js';

export const ALERTS_USAGE = `Usage: moovitamix alerts [--all] [--json] [--limit N]

The open alerts, newest first (with --all: resolved ones too, default limit 50).
An alert stays open, and is delivered once, while its condition lasts; the first run
that no longer meets it resolves it. Reads the alerts collection.`;

export async function alertsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      limit: { type: 'string', default: '50' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(ALERTS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`alerts takes no positional arguments, got: ${positionals.join(' ')}`);
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError(`--limit must be a whole number from 1 to 10000, got "${values.limit}"`);

  return withDb(loadConfig(), async (db) => {
    const alerts = (
      await alertsCollection(db)
        .find(values.all ? {} : { status: 'open' })
        .toArray()
    )
      .sort((a, b) => b.last_seen_at.getTime() - a.last_seen_at.getTime())
      .slice(0, limit);
    if (values.json) {
      console.log(JSON.stringify(alerts, null, 2));
      return 0;
    }
    if (alerts.length === 0) {
      console.log(values.all ? 'No alerts yet.' : 'No open alerts.');
      return 0;
    }
    console.log(renderAlerts(alerts));
    return 0;
  });
}

export function renderAlerts(alerts: AlertDocument[]): string {
  const rows = alerts.map((a) => [a.severity.toUpperCase(), a.status, a.key, a.date, a.workflow_id, a.occurrences, a.delivery.status]);
  return [
    table(['severity', 'status', 'alert', 'since', 'opened by', 'runs', 'delivery'], rows, new Set([5])),
    '',
    ...alerts.map((a) => `${a.severity.toUpperCase()} ${a.key}: ${a.message}`),
  ].join('\n');
}
