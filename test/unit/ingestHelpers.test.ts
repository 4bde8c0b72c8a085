import { expect } from 'chai';
import { canonicalJson, contentHash } from '../../activities/ingest/canonicalJson.js';
import { retryAfterMs } from '../../activities/ingest/fetchPage.js';
import { mapLimit } from '../../activities/ingest/mapLimit.js';
import { addStats, emptyStats } from '../../activities/ingest/stats.js';

describe('canonical JSON and content hash', () => {
  it('does not depend on key order, at any depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).to.equal('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    expect(contentHash({ a: 1, b: 2 })).to.equal(contentHash({ b: 2, a: 1 }));
  });

  it('changes with any value, and with the order of array items', () => {
    const base = contentHash({ id: 1, items: [1, 2] });
    expect(contentHash({ id: 1, items: [2, 1] })).not.to.equal(base);
    expect(contentHash({ id: 1, items: [1, 2], extra: 0 })).not.to.equal(base);
    expect(contentHash({ id: '1', items: [1, 2] })).not.to.equal(base);
    expect(base).to.match(/^[0-9a-f]{64}$/);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');
  it('reads seconds and HTTP dates, capped at 5 minutes', () => {
    expect(retryAfterMs('7', now)).to.equal(7000);
    expect(retryAfterMs('Mon, 23 Nov 2026 10:00:30 GMT', now)).to.equal(30_000);
    expect(retryAfterMs('86400', now)).to.equal(300_000);
    expect(retryAfterMs('Mon, 23 Nov 2026 09:00:00 GMT', now), 'a date in the past').to.equal(0);
  });

  it('ignores absent or unreadable values', () => {
    expect(retryAfterMs(undefined, now)).to.equal(undefined);
    expect(retryAfterMs('soon', now)).to.equal(undefined);
  });
});

describe('addStats', () => {
  it('adds the counters and leaves other fields of the target alone', () => {
    const into = { ...emptyStats(), fetched: 1, pagesStored: 3, totalAtStart: null as number | null };
    addStats(into, { ...emptyStats(), fetched: 100, valid: 99, invalid: 1, inserted: 99 });
    expect(into).to.deep.equal({ fetched: 101, valid: 99, invalid: 1, inserted: 99, updated: 0, unchanged: 0, duplicates: 0, pagesStored: 3, totalAtStart: null });
  });
});

describe('mapLimit', () => {
  it('keeps input order and never exceeds the limit', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).to.deep.equal([50, 10, 40, 20, 30, 0]);
    expect(peak).to.equal(2);
  });
});
