import { expect } from 'chai';
import { feedbackEventId } from '../../stores/feedback/store.js';
import { summarizeCounts } from '../../stores/feedback/summary.js';
import { loadConfig } from '../../config/config.js';
import { canaryArm, canaryBucket } from '../../service/canary.js';
import { MAX_EVENTS, parseFeedback } from '../../service/feedbackSchema.js';

// What POST /feedback accepts, how events are keyed, how the canary splits users and
// how click-through is summed: the pure parts, without a server.

const NOW = new Date('2025-03-10T12:00:00.000Z');
const event = (extra: Record<string, unknown> = {}) => ({ user_id: 7, track_id: 42, model: 'item-knn@3', type: 'play', ...extra });
const issues = (body: unknown) => {
  const parsed = parseFeedback(body, NOW);
  return parsed.ok ? [] : parsed.issues.map((i) => `${i.path}: ${i.message}`);
};

describe('feedback input, canary split and click-through sums', () => {
  it('accepts one event or a batch, with defaults for event_id and at', () => {
    expect(parseFeedback(event(), NOW)).to.deep.equal({
      ok: true,
      events: [{ event_id: null, user_id: 7, track_id: 42, model: 'item-knn@3', type: 'play', at: NOW }],
    });
    const batch = parseFeedback(
      { events: [event({ event_id: 'a-1', at: '2025-03-10T13:04:05+01:00' }), event({ type: 'impression', model: 'most-popular@auto-0123456789abcdef' })] },
      NOW,
    );
    expect(batch.ok && batch.events.map((e) => [e.event_id, e.type, e.model, e.at.toISOString()])).to.deep.equal([
      ['a-1', 'play', 'item-knn@3', '2025-03-10T12:04:05.000Z'],
      [null, 'impression', 'most-popular@auto-0123456789abcdef', NOW.toISOString()],
    ]);
  });

  it('refuses every malformed event with the field and the reason', () => {
    const cases: [unknown, string][] = [
      [{ $gt: '' }, 'user_id: is required'],
      [event({ user_id: { $gt: '' } }), 'user_id: must be a number'],
      [event({ user_id: -5 }), 'user_id: must be >= 1'],
      [event({ track_id: 1e20 }), 'track_id: must be a safe integer'],
      [event({ track_id: 1.5 }), 'track_id: must be an integer'],
      [event({ user_id: '7' }), 'user_id: must be a number'],
      [event({ type: 'skip' }), 'type: must be one of impression, play, like'],
      [event({ score: 1 }), 'score: unknown field "score"'],
      [JSON.parse('{"__proto__": {"x": 1}, "user_id": 7, "track_id": 42, "model": "item-knn@3", "type": "play"}'), '__proto__: unknown field "__proto__"'],
      [event({ model: 'item-knn@3; drop' }), 'model: must be a model key such as item-knn@3 or most-popular@auto-<16 hex digits>'],
      [event({ model: 'item-knn' }), 'model: must be a model key such as item-knn@3 or most-popular@auto-<16 hex digits>'],
      [event({ event_id: 'a b' }), 'event_id: must be 1-64 letters, digits, "_" or "-"'],
      [event({ at: '2100-01-01T00:00:00Z' }), 'at: must not be more than 5 minutes in the future'],
      [event({ at: '2025-02-30T00:00:00Z' }), 'at: must be an ISO 8601 time with a zone, e.g. 2025-01-03T10:00:00Z'],
      [event({ at: '2025-03-10T12:00:00' }), 'at: must be an ISO 8601 time with a zone, e.g. 2025-01-03T10:00:00Z'],
      [event({ at: '2025-01-01T00:00:00Z' }), 'at: must not be more than 30 days in the past'],
      [{ events: [] }, 'events: must hold at least one event'],
      [{ events: Array.from({ length: MAX_EVENTS + 1 }, () => event()) }, `events: must hold at most ${MAX_EVENTS} events`],
      [{ events: [event(), event({ user_id: 0 })] }, 'events.1.user_id: must be >= 1'],
      [{ events: [event()], extra: 1 }, 'extra: unknown field "extra"'],
      [{ events: 'x' }, 'events: must be an array of events'],
      [[event()], '(body): must be a JSON object: one event, or {"events": [...]}'],
      [null, '(body): must be a JSON object: one event, or {"events": [...]}'],
      ['play', '(body): must be a JSON object: one event, or {"events": [...]}'],
    ];
    for (const [body, expected] of cases) expect(issues(body), JSON.stringify(body)?.slice(0, 80)).to.include(expected);
    // A future time within the clock slack is accepted.
    expect(issues(event({ at: '2025-03-10T12:04:00Z' }))).to.deep.equal([]);
  });

  it('keys an event by client id per user, else by its content', () => {
    const base = { event_id: null, user_id: 7, track_id: 42, model: 'item-knn@3', type: 'play' as const, at: NOW };
    expect(feedbackEventId({ ...base, event_id: 'x1' })).to.equal('e:7:x1');
    expect(feedbackEventId({ ...base, event_id: 'x1', user_id: 8 })).to.equal('e:8:x1');
    expect(feedbackEventId(base))
      .to.match(/^h:[0-9a-f]{32}$/)
      .and.equal(feedbackEventId({ ...base }));
    for (const other of [{ track_id: 43 }, { type: 'like' as const }, { model: 'item-knn@4' }, { at: new Date(NOW.getTime() + 1) }]) {
      expect(feedbackEventId({ ...base, ...other }), JSON.stringify(other)).to.not.equal(feedbackEventId(base));
    }
  });

  it('splits users by a stable hash: the share below it, and a larger share only adds users', () => {
    const users = Array.from({ length: 10_000 }, (_, i) => i + 1);
    const buckets = users.map(canaryBucket);
    expect(buckets.every((b) => b >= 0 && b < 1)).to.equal(true);
    expect(canaryBucket(12345)).to.equal(canaryBucket(12345));
    const at = (share: number) => new Set(users.filter((u) => canaryArm(u, share) === 'challenger'));
    const [tenth, third] = [at(0.1), at(0.3)];
    expect(at(0).size).to.equal(0);
    expect(Math.abs(tenth.size / users.length - 0.1)).to.be.below(0.01);
    expect(Math.abs(third.size / users.length - 0.3)).to.be.below(0.015);
    expect([...tenth].filter((u) => !third.has(u))).to.deep.equal([]);
    expect([...third].every((u) => canaryBucket(u) < 0.3)).to.equal(true);
  });

  it('reads MOOVITAMIX_CANARY_SHARE as a fraction from 0 to 0.5', () => {
    const share = (value?: string) => loadConfig({ HOME: '/home/someone', ...(value === undefined ? {} : { MOOVITAMIX_CANARY_SHARE: value }) }).canaryShare;
    expect(share()).to.equal(0);
    expect(share('0.3')).to.equal(0.3);
    expect(share('.05')).to.equal(0.05);
    expect(share('0.5')).to.equal(0.5);
    for (const bad of ['0.6', '1', '-0.1', 'abc', '.', '1e-1', '0.3x', 'NaN']) {
      expect(() => share(bad), bad).to.throw(/MOOVITAMIX_CANARY_SHARE must be a number from 0 to 0.5/);
    }
  });

  it('sums counters per model, all time and per day in the window', () => {
    const row = (model: string, day: string, impressions: number, plays: number, likes: number) => ({ model, day, impressions, plays, likes });
    const summary = summarizeCounts(
      [row('b@1', '2025-03-10', 4, 1, 1), row('a@1', '2025-03-10', 6, 2, 0), row('a@1', '2025-01-01', 4, 1, 0), row('c@1', '2025-03-09', 0, 2, 0)],
      14,
      NOW,
    );
    expect(summary.window).to.deep.equal({ days: 14, from: '2025-02-25', until: '2025-03-10' });
    expect(
      summary.models.map((m) => [m.model, m.impressions, m.plays, m.likes, m.ctr, m.likeRate, m.firstDay, m.lastDay, m.days.map((d) => d.day)]),
    ).to.deep.equal([
      ['a@1', 10, 3, 0, 0.3, 0, '2025-01-01', '2025-03-10', ['2025-03-10']],
      ['b@1', 4, 1, 1, 0.25, 0.25, '2025-03-10', '2025-03-10', ['2025-03-10']],
      ['c@1', 0, 2, 0, null, null, '2025-03-09', '2025-03-09', ['2025-03-09']],
    ]);
    expect(summarizeCounts([], 14, NOW).models).to.deep.equal([]);
  });
});
