import type { PipelineRunDocument } from '../../contracts/runs.js';
import type { AlertDocument } from '../../stores/alerts.js';

const n = (x: number | null | undefined) => (x === null || x === undefined ? '?' : x.toLocaleString('en-US'));

/** The daily summary, as Slack mrkdwn text: what a data engineer reads first in the morning. */
export function renderSummary(run: PipelineRunDocument, open: AlertDocument[]): string {
  const lines = [`*Moovitamix ${run.date}*: run ${run._id} ${run.status}${run.duration_ms !== null ? ` in ${(run.duration_ms / 1000).toFixed(1)} s` : ''}`];
  for (const [name, s] of Object.entries(run.sources)) {
    if (!s) continue;
    lines.push(
      s.status === 'FAILED'
        ? `• ${name}: FAILED (${s.error ?? 'see the run record'})`
        : `• ${name}: ${n(s.fetched)} fetched, ${n(s.inserted)} new, ${n(s.updated)} updated, ${n(s.tombstoned)} deleted, ${n(s.invalid)} invalid`,
    );
  }
  if (run.health) {
    const { counts, downstream } = run.health;
    lines.push(
      `Checks: ${counts.pass} pass, ${counts.warn} warn, ${counts.fail} fail${downstream.allowed ? '' : `; downstream steps stopped: ${downstream.reason}`}`,
    );
    for (const [name, h] of Object.entries(run.health.sources)) if (h && h.failing.length > 0) lines.push(`  ${name} failing: ${h.failing.join(', ')}`);
  }
  if (run.kpis) {
    const k = run.kpis;
    lines.push(
      `KPIs: ${n(k.liveUsers)} users, ${n(k.liveTracks)} tracks, ${n(k.usersWithListens)} users with listens, ${n(k.newUsersOnDate)} new users on ${run.date}, mean history ${k.historyLength?.mean ?? '?'}`,
    );
    if (k.topGenres.length > 0)
      lines.push(
        `Top genres: ${k.topGenres
          .slice(0, 5)
          .map((g) => `${g.genre} (${n(g.listens)})`)
          .join(', ')}`,
      );
  }
  const critical = open.filter((a) => a.severity === 'critical').length;
  lines.push(
    open.length === 0
      ? 'No open alerts.'
      : `Open alerts: ${open.length} (${critical} critical): ${open
          .slice(0, 5)
          .map((a) => a.key)
          .join(', ')}${open.length > 5 ? ', ...' : ''}`,
  );
  return lines.join('\n');
}
