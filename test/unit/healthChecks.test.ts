import { expect } from 'chai';
import { freshnessCheck, rateCheck, summaryChecks, volumeCheck } from '../../activities/health/checks.js';
import { IdSet, RecordProfiler, percentile } from '../../activities/ingest/profile.js';
import { runHealth } from '../../activities/health/summarizeRun.js';
import { summary, user } from '../support/fixtures.js';
import { defaultQualitySettings, resolveQualitySettings } from '../../config/quality.js';
import { SOURCES } from '../../sources/index.js';

const settings = defaultQualitySettings();

describe('quality checks (pure evaluation)', () => {
  it('a rate check passes at zero, warns above warnAbove and fails above failAbove only with severity error', () => {
    const s = { severity: 'error' as const, warnAbove: 0, failAbove: 0.1 };
    expect(rateCheck('not_null', s, 'id', 0, 100, [], 'x')?.status).to.equal('pass');
    expect(rateCheck('not_null', s, 'id', 5, 100, ['7'], 'x')).to.include({ status: 'warn', observed: 5, total: 100, value: 0.05 });
    expect(rateCheck('not_null', s, 'id', 11, 100, [], 'x')?.status).to.equal('fail');
    expect(rateCheck('not_null', { ...s, severity: 'warn' }, 'id', 50, 100, [], 'x')?.status, 'severity warn caps at warn').to.equal('warn');
    expect(rateCheck('not_null', { ...s, severity: 'off' }, 'id', 50, 100, [], 'x'), 'off: not run').to.equal(null);
    expect(rateCheck('not_null', s, 'id', 3, 0, [], 'x')?.status, 'offenders out of nothing still count').to.equal('fail');
  });

  it('profiles nulls, wrong types, empty values and values outside the accepted set, with sample keys', () => {
    const p = new RecordProfiler(SOURCES.users);
    p.add(user(1), '1', true);
    p.add(user(2, { gender: 'Unspecified', email: '' }), '2', true);
    p.add(user(3, { favorite_genres: 'Polka', updated_at: '2024-12-31T23:00:00' }), '3', true);
    p.add(user(0, { id: null, email: 5 }), 'q1', false);
    expect(p.records).to.equal(4);
    expect(p.fields.id?.nulls).to.deep.equal({ count: 1, samples: ['q1'] });
    expect(p.fields.email?.wrongType).to.deep.equal({ count: 1, samples: ['q1'] });
    expect(p.fields.email?.missing).to.deep.equal({ count: 1, samples: ['2'] });
    expect(p.fields.gender?.unexpected).to.deep.equal({ count: 1, samples: ['2'] });
    expect(p.fields.favorite_genres?.unexpected).to.deep.equal({ count: 1, samples: ['3'] });
    expect(new Date(p.newest as number).toISOString()).to.equal('2024-12-31T23:00:00.000Z');
  });

  it('finds ids in a sorted id set and reads percentiles off a histogram', () => {
    const ids = new IdSet([30, 10, 20, 99_000_001]);
    expect([10, 20, 30, 99_000_001].map((id) => ids.has(id))).to.deep.equal([true, true, true, true]);
    expect([0, 11, 31].map((id) => ids.has(id))).to.deep.equal([false, false, false]);
    const h = new Map([
      [1, 5],
      [5, 4],
      [9, 1],
    ]);
    expect([percentile(h, 10, 0.5), percentile(h, 10, 0.9), percentile(h, 10, 1)]).to.deep.equal([1, 5, 9]);
  });

  it('reconciles fetched records and stored pages with the API, and reports drift per field', () => {
    const clean = summaryChecks(summary(), settings.checks, { count: 0, samples: [] });
    expect(clean.map((r) => [r.check, r.status])).to.deep.equal([
      ['unique_key', 'pass'],
      ['duplicate_rate', 'pass'],
      ['reconcile_total', 'pass'],
      ['reconcile_pages', 'pass'],
      ['schema_drift', 'pass'],
    ]);
    const bad = summaryChecks(
      summary({ fetched: 103, totalAtEnd: 103, pagesPlanned: 2, pages: 1, duplicates: 3, drift: { added: { bpm: 4 }, missing: {} } }),
      settings.checks,
      { count: 2, samples: ['5', '9'] },
    );
    const by = (name: string) => bad.find((r) => r.check === name);
    expect(by('unique_key')).to.include({ status: 'warn', observed: 2 });
    expect(by('duplicate_rate')).to.include({ status: 'warn', observed: 3 });
    expect(by('reconcile_total')).to.include({ status: 'fail', observed: 3 });
    expect(by('reconcile_pages')).to.include({ status: 'fail', observed: 1 });
    expect(by('schema_drift')).to.include({ status: 'warn', field: 'bpm', observed: 4 });
    const failed = summaryChecks(
      summary({ status: 'FAILED', totalAtStart: null, totalAtEnd: null, pagesPlanned: null, fetched: 0, pages: 0, error: 'GET ... answered 404' }),
      settings.checks,
      { count: 0, samples: [] },
    );
    expect(failed.find((r) => r.check === 'reconcile_total')?.message).to.include('source failed: GET ... answered 404');
  });

  it('judges freshness by the newest timestamp against the run date', () => {
    const f = { severity: 'error' as const, warnAfterDays: 2, failAfterDays: 7 };
    expect(freshnessCheck(f, 'updated_at', Date.parse('2026-11-22T12:00:00Z'), '2026-11-23')?.status).to.equal('pass');
    expect(freshnessCheck(f, 'updated_at', Date.parse('2026-11-18T00:00:00Z'), '2026-11-23')).to.include({ status: 'warn', observed: 5 });
    expect(freshnessCheck(f, 'updated_at', Date.parse('2026-01-01T00:00:00Z'), '2026-11-23')?.status).to.equal('fail');
    expect(freshnessCheck(f, 'updated_at', null, '2026-11-23')?.status).to.equal('fail');
  });

  it('flags volume with a percentage band before 4 runs and a robust z-score from 4 on', () => {
    const v = settings.checks.volume;
    expect(volumeCheck(v, 1000, [])?.status).to.equal('pass');
    expect(volumeCheck(v, 1200, [1000])).to.include({ status: 'pass', unit: 'change' });
    expect(volumeCheck(v, 400, [1000, 1000])).to.include({ status: 'warn', unit: 'change', value: 0.6 });
    expect(volumeCheck(v, 1010, [1000, 1020, 990, 1005])).to.include({ status: 'pass', unit: 'z' });
    const drop = volumeCheck(v, 600, [1000, 1020, 990, 1005, 1000]);
    expect(drop).to.include({ status: 'warn', unit: 'z', total: 1000 });
    expect(drop?.value).to.be.greaterThan(v.warnZ);
    expect(volumeCheck(v, 1001, [1000, 1000, 1000, 1000])?.status, 'a flat history floors the MAD').to.equal('pass');
    expect(volumeCheck({ ...v, severity: 'error' }, 10, [1000, 1000, 1000, 1000])?.status).to.equal('fail');
  });

  it('stops downstream steps on a failing check only with the gate on, and always on a failed source', () => {
    const checks = [
      { source: 'users' as const, status: 'fail' as const, counts: { pass: 3, warn: 0, fail: 1 }, blocking: true, failing: ['not_null:id'] },
      { source: 'tracks' as const, status: 'pass' as const, counts: { pass: 4, warn: 0, fail: 0 }, blocking: false, failing: [] },
    ];
    const gated = runHealth(checks, [], 'error');
    expect(gated).to.deep.include({ status: 'fail', counts: { pass: 7, warn: 0, fail: 1 } });
    expect(gated.downstream).to.deep.equal({ allowed: false, reason: 'failing checks: users not_null:id' });
    expect(runHealth(checks, [], 'off').downstream).to.deep.equal({ allowed: true, reason: null });
    expect(runHealth([checks[1] as (typeof checks)[number]], ['listen_history'], 'off')).to.deep.include({
      status: 'fail',
      downstream: { allowed: false, reason: 'source failed: listen_history' },
    });
  });
});

describe('quality settings', () => {
  it('overrides the defaults field by field', () => {
    const s = resolveQualitySettings({ gate: 'off', checks: { freshness: { warnAfterDays: 30 }, not_null: { severity: 'warn' } }, alerts: { slowFactor: 2 } });
    expect(s.gate).to.equal('off');
    expect(s.checks.freshness).to.deep.equal({ ...settings.checks.freshness, warnAfterDays: 30 });
    expect(s.checks.not_null).to.deep.equal({ ...settings.checks.not_null, severity: 'warn' });
    expect(s.alerts.slowFactor).to.equal(2);
    expect(s.checks.types).to.deep.equal(settings.checks.types);
  });

  it('names every bad setting at once', () => {
    expect(() => resolveQualitySettings({ gate: 'sometimes', checks: { not_null: { failAbove: 2 }, nosuch: {} } })).to.throw(
      /gate: gate must be error or off[\s\S]*checks\.not_null\.failAbove: must be <= 1/,
    );
    expect(() => resolveQualitySettings({ checks: { nosuch: {} } })).to.throw(/checks/);
  });
});
