import { expect } from 'chai';
import { fromBinary, packedBinary, toBinary } from '../../stores/binary.js';
import { canonicalJson, contentHash } from '../../activities/ingest/canonicalJson.js';
import { retryAfterMs } from '../../activities/ingest/fetchPage.js';
import { mapLimit } from '../../activities/ingest/mapLimit.js';
import { addPageStats } from '../../activities/ingest/stats.js';
import { addCounts } from '../../workflows/counts.js';
import { emptyFetchStats } from '../../contracts/ingest.js';

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

describe('statistics', () => {
  it('add a staged page to a range: records, HTTP figures, retries by reason and drift', () => {
    const range = emptyFetchStats();
    const retries = { '429': 1, '5xx': 2, timeout: 0, network: 1, parse: 0 };
    addPageStats(range, { fetched: 100, invalid: 3, keylessInvalid: 1, bytes: 20_000, drift: { added: { bpm: 2 }, missing: {} }, requests: 5, retries });
    addPageStats(range, {
      fetched: 50,
      invalid: 0,
      keylessInvalid: 0,
      bytes: 9_000,
      drift: { added: { bpm: 1 }, missing: { name: 1 } },
      requests: 1,
      retries: { ...retries, '429': 0, '5xx': 0, network: 0 },
    });
    expect(range).to.deep.equal({
      requests: 6,
      retries: { '429': 1, '5xx': 2, timeout: 0, network: 1, parse: 0 },
      pages: 2,
      bytes: 29_000,
      fetched: 150,
      valid: 147,
      invalid: 3,
      keylessInvalid: 1,
      drift: { added: { bpm: 3 }, missing: { name: 1 } },
    });
  });

  it('add nested counters in workflows, creating what is missing and leaving other fields alone', () => {
    const into = { fetched: 1, retries: { '429': 1 }, drift: { added: {} as Record<string, number> }, label: 'x' };
    addCounts(into, { fetched: 2, retries: { '429': 2 }, drift: { added: { bpm: 4 } }, label: 'y' });
    expect(into).to.deep.equal({ fetched: 3, retries: { '429': 3 }, drift: { added: { bpm: 4 } }, label: 'x' });
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

describe('typed arrays as BSON binaries', () => {
  it('packed or plain, read back the same values; packed lists take a fraction of the bytes', () => {
    const because = new Int32Array(25_000 * 3).fill(-1);
    because[7] = 42;
    const scores = Float32Array.from({ length: 25_000 }, (_, i) => 1000 - (i % 25) * 0.5);
    for (const array of [because, scores]) {
      const Type = array.constructor as typeof Int32Array | typeof Float32Array;
      expect(Array.from(fromBinary(packedBinary(array), Type as never) as Int32Array)).to.deep.equal(Array.from(array));
      expect(Array.from(fromBinary(toBinary(array), Type as never) as Int32Array)).to.deep.equal(Array.from(array));
      expect(packedBinary(array).buffer.byteLength).to.be.below(array.byteLength / 20);
    }
    expect(Array.from(fromBinary(packedBinary(new Uint8Array(0)), Uint8Array))).to.deep.equal([]);
  });
});
