import type { Db } from 'mongodb';
import { FEEDBACK_COUNTS, utcDay, type FeedbackCountDocument } from './store.js';

export interface FeedbackRates {
  impressions: number;
  plays: number;
  likes: number;
  /** plays / impressions; null without impressions. */
  ctr: number | null;
  /** likes / impressions; null without impressions. */
  likeRate: number | null;
}

export interface DayFeedback extends FeedbackRates {
  /** YYYY-MM-DD, UTC. */
  day: string;
}

export interface ModelFeedback extends FeedbackRates {
  /** The model key the events named, e.g. `item-knn@3`. */
  model: string;
  firstDay: string;
  lastDay: string;
  /** The days of the window that have events, oldest first. */
  days: DayFeedback[];
}

export interface FeedbackSummary {
  /** Every model that received feedback, most impressions first; totals over all time. */
  models: ModelFeedback[];
  /** The per-day window: `days` days up to `until`. */
  window: { days: number; from: string; until: string };
}

const rate = (n: number, of: number) => (of === 0 ? null : Math.round((n / of) * 1e6) / 1e6);
const rates = (impressions: number, plays: number, likes: number): FeedbackRates => ({
  impressions,
  plays,
  likes,
  ctr: rate(plays, impressions),
  likeRate: rate(likes, impressions),
});

/** Click-through per model version, from the daily counters (a small collection: models x days). */
export async function feedbackSummary(db: Db, options: { days?: number; now?: Date } = {}): Promise<FeedbackSummary> {
  const counts = await db
    .collection<FeedbackCountDocument>(FEEDBACK_COUNTS)
    .find({}, { projection: { model: 1, day: 1, impressions: 1, plays: 1, likes: 1 } })
    .toArray();
  return summarizeCounts(counts, options.days ?? 14, options.now ?? new Date());
}

export function summarizeCounts(
  counts: Pick<FeedbackCountDocument, 'model' | 'day' | 'impressions' | 'plays' | 'likes'>[],
  days: number,
  now: Date,
): FeedbackSummary {
  const until = utcDay(now);
  const from = utcDay(new Date(now.getTime() - (days - 1) * 86_400_000));
  const byModel = new Map<string, typeof counts>();
  for (const c of counts) {
    const rows = byModel.get(c.model);
    if (rows) rows.push(c);
    else byModel.set(c.model, [c]);
  }
  const models = [...byModel].map(([model, rows]): ModelFeedback => {
    rows.sort((a, b) => a.day.localeCompare(b.day));
    const sum = (f: 'impressions' | 'plays' | 'likes') => rows.reduce((a, r) => a + (r[f] ?? 0), 0);
    return {
      model,
      ...rates(sum('impressions'), sum('plays'), sum('likes')),
      firstDay: rows[0]?.day ?? until,
      lastDay: rows[rows.length - 1]?.day ?? until,
      days: rows.filter((r) => r.day >= from && r.day <= until).map((r) => ({ day: r.day, ...rates(r.impressions ?? 0, r.plays ?? 0, r.likes ?? 0) })),
    };
  });
  models.sort((a, b) => b.impressions - a.impressions || a.model.localeCompare(b.model));
  return { models, window: { days, from, until } };
}
