import { expect } from 'chai';
import { evaluateRules } from '../../activities/health/alertRules.js';
import { alertMessage } from '../../activities/health/webhook.js';
import { renderSummary } from '../../activities/health/summaryMessage.js';
import type { QualityReportDocument } from '../../contracts/health.js';
import type { PipelineRunDocument } from '../../contracts/runs.js';
import { defaultQualitySettings } from '../../config/quality.js';
import { summary } from '../support/fixtures.js';
import type { AlertDocument } from '../../stores/alerts.js';

const alerts = defaultQualitySettings().alerts;

function run(date: string, extra: Partial<PipelineRunDocument> = {}): PipelineRunDocument {
  return {
    _id: `daily-${date}`,
    run_id: `r-${date}`,
    date,
    status: 'COMPLETED',
    started_at: new Date(`${date}T02:00:00Z`),
    finished_at: new Date(`${date}T02:01:00Z`),
    duration_ms: 60_000,
    sources: { users: summary() },
    ...extra,
  };
}

const keys = (r: PipelineRunDocument, others: PipelineRunDocument[], reports: QualityReportDocument[] = []) =>
  evaluateRules(r, reports, others, alerts).map((t) => t.key);

describe('alert rules', () => {
  it('raises nothing for a healthy run after healthy days', () => {
    expect(keys(run('2026-11-23'), [run('2026-11-21'), run('2026-11-22')])).to.deep.equal([]);
  });

  it('raises run_failed for a failed run, naming the failed source', () => {
    const failed = run('2026-11-23', { status: 'FAILED', sources: { users: summary({ status: 'FAILED', error: 'GET /users answered 404' }) } });
    const [t] = evaluateRules(failed, [], [], alerts);
    expect(t).to.deep.include({ key: 'run_failed', severity: 'critical' });
    expect(t?.message).to.include('users (GET /users answered 404)');
  });

  it('raises recommend_failed when the recommendation step failed, not when it was skipped', () => {
    // The step's failure fails the run record too: one alert, not run_failed as well.
    const failed = run('2026-11-23', {
      status: 'FAILED',
      recommendations: { status: 'failed', workflowId: 'daily-2026-11-23/recommend', reason: 'batch 1 failed verification' },
    });
    expect(keys(failed, [])).to.deep.equal(['recommend_failed']);
    const [t] = evaluateRules(failed, [], [], alerts);
    expect(t).to.deep.include({ key: 'recommend_failed', severity: 'critical' });
    expect(t?.message).to.include('batch 1 failed verification');
    expect(keys(run('2026-11-23', { recommendations: { status: 'skipped', workflowId: 'x', reason: 'gate' } }), [])).to.deep.equal([]);
  });

  it('raises missed_run for each day without a run since the first run on record', () => {
    expect(keys(run('2026-11-23'), [run('2026-11-19'), run('2026-11-21')])).to.deep.equal(['missed_run:2026-11-20', 'missed_run:2026-11-22']);
    expect(keys(run('2026-11-23'), []), 'nothing is missing before the first run').to.deep.equal([]);
  });

  it('raises slow_run above 1.5x the median of at least 3 earlier completed runs', () => {
    const earlier = ['2026-11-20', '2026-11-21', '2026-11-22'].map((d) => run(d));
    expect(keys(run('2026-11-23', { duration_ms: 89_000 }), earlier)).to.deep.equal([]);
    expect(keys(run('2026-11-23', { duration_ms: 91_000 }), earlier)).to.deep.equal(['slow_run']);
    expect(keys(run('2026-11-23', { duration_ms: 91_000 }), earlier.slice(1)), 'two runs are too few').to.deep.equal([]);
  });

  it('raises retry_rate and error_rate per source above their thresholds', () => {
    const busy = summary({ requests: 10, retries: { '429': 2, '5xx': 1, timeout: 0, network: 0, parse: 0 }, invalid: 2, fetched: 100 });
    expect(keys(run('2026-11-23', { sources: { tracks: busy } }), [])).to.deep.equal(['retry_rate:tracks', 'error_rate:tracks']);
  });

  it('raises check_failed per failing check and volume_anomaly for a volume check that did not pass', () => {
    const report = {
      source: 'users',
      checks: [
        { check: 'not_null', field: 'id', status: 'fail', samples: ['q1'], message: '3 of 100' },
        { check: 'accepted_values', field: 'gender', status: 'warn', samples: [], message: '1 of 100' },
        { check: 'volume', field: null, status: 'warn', samples: [], message: '40 against 100' },
      ],
    } as unknown as QualityReportDocument;
    const triggers = evaluateRules(run('2026-11-23'), [report], [], alerts);
    expect(triggers.map((t) => [t.key, t.severity])).to.deep.equal([
      ['check_failed:users:not_null:id', 'critical'],
      ['volume_anomaly:users', 'warning'],
    ]);
    expect(triggers[0]?.message).to.equal('users: check not_null:id failed: 3 of 100 (e.g. q1)');
  });

  it('renders Slack-compatible messages: an alert, and the daily summary', () => {
    const alert = {
      severity: 'critical',
      rule: 'run_failed',
      workflow_id: 'daily-2026-11-23',
      date: '2026-11-23',
      message: 'Run failed: users (404)',
    } as AlertDocument;
    expect(alertMessage(alert)).to.deep.equal({ text: ':red_circle: *CRITICAL* run_failed (run daily-2026-11-23, 2026-11-23)\nRun failed: users (404)' });
    const text = renderSummary(
      run('2026-11-23', { health: { status: 'warn', counts: { pass: 10, warn: 2, fail: 0 }, sources: {}, downstream: { allowed: true, reason: null } } }),
      [{ ...alert, key: 'run_failed' }],
    );
    expect(text).to.include('*Moovitamix 2026-11-23*: run daily-2026-11-23 COMPLETED in 60.0 s');
    expect(text).to.include('• users: 100 fetched, 100 new, 0 updated, 0 deleted, 0 invalid');
    expect(text).to.include('Checks: 10 pass, 2 warn, 0 fail');
    expect(text).to.include('Open alerts: 1 (1 critical): run_failed');
  });
});
