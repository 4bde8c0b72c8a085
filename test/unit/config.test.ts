import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporalUiUrl, workflowUiUrl } from '../../config/addresses.js';
import { ConfigError, describeConfig, loadConfig } from '../../config/config.js';
import { redactUri } from '../../config/redact.js';

const env = (vars: Record<string, string>): NodeJS.ProcessEnv => ({ HOME: '/home/someone', ...vars });

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig(env({}));
    expect(c.apiUrl).to.equal('http://127.0.0.1:8000');
    expect(c.mongodbUri).to.equal('mongodb://127.0.0.1:27017/?directConnection=true');
    expect(c.mongodbUriFromEnv).to.equal(false);
    expect(c.mongodbDb).to.equal('moovitamix');
    expect(c.temporalAddress).to.equal('127.0.0.1:7233');
    expect(c.temporalNamespace).to.equal('default');
    expect(c.taskQueue).to.equal('moovitamix');
    expect(c.cacheDir).to.equal('/home/someone/.cache/moovitamix');
  });

  it('reads every variable', () => {
    const c = loadConfig(
      env({
        MOOVITAMIX_API_URL: 'https://api.example.com/v1/',
        MONGODB_URI: 'mongodb+srv://u:p@cluster.example.net/x',
        MONGODB_DB: 'prod',
        MOOVITAMIX_MONGODB_PORT: '27018',
        TEMPORAL_ADDRESS: 'temporal.internal:7233',
        TEMPORAL_NAMESPACE: 'pipelines',
        TEMPORAL_TASK_QUEUE: 'moovitamix-2',
        MOOVITAMIX_DATA_DIR: '/var/lib/mx',
        XDG_CACHE_HOME: '/cache',
      }),
    );
    expect(c.apiUrl, 'trailing slash removed').to.equal('https://api.example.com/v1');
    expect(c.mongodbUri).to.equal('mongodb+srv://u:p@cluster.example.net/x');
    expect(c.mongodbUriFromEnv).to.equal(true);
    expect(c.mongodbDb).to.equal('prod');
    expect(c.mongodbPort).to.equal(27018);
    expect(c.temporalAddress).to.equal('temporal.internal:7233');
    expect(c.temporalNamespace).to.equal('pipelines');
    expect(c.taskQueue).to.equal('moovitamix-2');
    expect(c.dataDir).to.equal('/var/lib/mx');
    expect(c.cacheDir).to.equal('/cache/moovitamix');
  });

  it('follows MOOVITAMIX_MONGODB_PORT in the default MongoDB URI', () => {
    expect(loadConfig(env({ MOOVITAMIX_MONGODB_PORT: '27999' })).mongodbUri).to.equal('mongodb://127.0.0.1:27999/?directConnection=true');
  });

  const bad: [string, string, RegExp][] = [
    ['MOOVITAMIX_API_URL', 'ftp://example.com', /MOOVITAMIX_API_URL must be an http/],
    ['MOOVITAMIX_API_URL', 'not a url', /MOOVITAMIX_API_URL/],
    ['MONGODB_URI', 'postgres://localhost', /MONGODB_URI must start with mongodb/],
    ['MONGODB_DB', 'a/b', /MONGODB_DB must be/],
    ['MONGODB_DB', 'x'.repeat(64), /MONGODB_DB must be/],
    ['TEMPORAL_ADDRESS', 'localhost', /TEMPORAL_ADDRESS must be host:port/],
    ['TEMPORAL_ADDRESS', 'localhost:99999', /TEMPORAL_ADDRESS port/],
    ['TEMPORAL_NAMESPACE', 'has space', /TEMPORAL_NAMESPACE/],
    ['TEMPORAL_TASK_QUEUE', '-', /TEMPORAL_TASK_QUEUE/],
    ['MOOVITAMIX_MONGODB_PORT', '0', /MOOVITAMIX_MONGODB_PORT/],
  ];
  for (const [variable, value, message] of bad) {
    it(`names ${variable} when it is ${JSON.stringify(value.slice(0, 20))}`, () => {
      expect(() => loadConfig(env({ [variable]: value }))).to.throw(ConfigError, message);
    });
  }

  it('reports every bad variable at once', () => {
    try {
      loadConfig(env({ MONGODB_DB: 'a.b', TEMPORAL_ADDRESS: 'nope' }));
      expect.fail('should throw');
    } catch (err) {
      expect((err as Error).message)
        .to.match(/MONGODB_DB/)
        .and.to.match(/TEMPORAL_ADDRESS/);
    }
  });

  it('never echoes a bad MONGODB_URI, even one that redaction cannot parse', () => {
    for (const uri of ['mongodb://admin:s3cret-pw@host/db bad', 'mongodb:/admin:s3cret-pw@db.example.com/x', 's3cret-pw']) {
      try {
        loadConfig(env({ MONGODB_URI: uri }));
        expect.fail('should throw');
      } catch (err) {
        expect((err as Error).message, uri)
          .to.match(/MONGODB_URI/)
          .and.not.to.include('s3cret-pw');
        expect((err as Error).message).to.include('value not shown');
      }
    }
  });

  it('reads the alert webhook as a secret, the metrics endpoint and the quality settings file', () => {
    const hook = 'https://hooks.example.com/services/T000/B000/s3cret-hook-token';
    const dir = mkdtempSync(join(tmpdir(), 'moovitamix-config-'));
    try {
      writeFileSync(join(dir, 'quality.json'), JSON.stringify({ gate: 'off', checks: { freshness: { warnAfterDays: 30 } } }));
      const config = loadConfig(env({ ALERT_WEBHOOK_URL: hook, MOOVITAMIX_METRICS_PORT: '0', MOOVITAMIX_QUALITY_CONFIG: join(dir, 'quality.json') }));
      expect(config).to.deep.include({ alertWebhookUrl: hook, metricsPort: 0, metricsHost: '127.0.0.1' });
      expect(config.quality.gate).to.equal('off');
      expect(config.quality.checks.freshness.warnAfterDays).to.equal(30);
      const shown = describeConfig(config);
      expect(shown.ALERT_WEBHOOK_URL).to.equal('set (not shown: it is a credential)');
      expect(JSON.stringify(shown)).not.to.include('s3cret-hook-token');
      expect(loadConfig(env({})).quality.gate, 'defaults without a file').to.equal('error');

      writeFileSync(join(dir, 'bad.json'), JSON.stringify({ checks: { nosuch: {} } }));
      expect(() => loadConfig(env({ MOOVITAMIX_QUALITY_CONFIG: join(dir, 'bad.json'), ALERT_WEBHOOK_URL: 'ftp://x/s3cret-hook-token' })))
        .to.throw(ConfigError)
        .that.satisfies(
          (err: Error) =>
            err.message.includes('ALERT_WEBHOOK_URL must be an http:// or https:// URL') &&
            err.message.includes('bad.json') &&
            !err.message.includes('s3cret-hook-token'),
        );
      expect(() => loadConfig(env({ MOOVITAMIX_QUALITY_CONFIG: join(dir, 'missing.json') }))).to.throw(/Cannot read MOOVITAMIX_QUALITY_CONFIG/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes itself without credentials', () => {
    const shown = describeConfig(loadConfig(env({ MONGODB_URI: 'mongodb://admin:s3cret-pw@db.example.com:27017/x' })));
    expect(shown.MONGODB_URI).to.equal('mongodb://admin:***@db.example.com:27017/x');
    expect(JSON.stringify(shown)).not.to.include('s3cret-pw');
  });
});

describe('redaction', () => {
  it('hides passwords in URIs, seed lists included', () => {
    expect(redactUri('mongodb://u:p4ss@h1:27017,h2:27017/db?replicaSet=rs')).to.equal('mongodb://u:***@h1:27017,h2:27017/db?replicaSet=rs');
    expect(redactUri('mongodb+srv://user:pw@cluster.example.net')).to.equal('mongodb+srv://user:***@cluster.example.net');
    expect(redactUri('https://hooks.example.com/x?token=abcdef&a=1')).to.equal('https://hooks.example.com/x?token=***&a=1');
    expect(redactUri('mongodb://127.0.0.1:27017/?directConnection=true')).to.equal('mongodb://127.0.0.1:27017/?directConnection=true');
  });
});

describe('Temporal UI address', () => {
  it('is the dev server default for a local server, TEMPORAL_UI_URL otherwise', () => {
    const local = loadConfig(env({}));
    expect(temporalUiUrl(local, {})).to.equal('http://127.0.0.1:8233');
    expect(workflowUiUrl(local, 'daily-2026-11-23', {})).to.equal('http://127.0.0.1:8233/namespaces/default/workflows/daily-2026-11-23');
    const remote = loadConfig(env({ TEMPORAL_ADDRESS: 'temporal.internal:7233' }));
    expect(temporalUiUrl(remote, {})).to.equal(undefined);
    expect(temporalUiUrl(remote, { TEMPORAL_UI_URL: 'https://ui.example.com/' })).to.equal('https://ui.example.com');
  });
});
