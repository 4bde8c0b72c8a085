import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, describeConfig, loadConfig } from '../../config/config.js';
import { connectOptions, describeTemporalSecurity } from '../../config/temporalConnection.js';

const KEY = 'tmprl-key-9f3kq7zXcV';

describe("Temporal connection from Temporal's environment configuration", () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'moovitamix-envconfig-'));
    file = join(dir, 'temporal.toml');
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    writeFileSync(
      file,
      [
        '[profile.default]',
        'address = "temporal.internal:7233"',
        'namespace = "pipelines"',
        '',
        '[profile.cloud]',
        'address = "moovitamix.a1b2c.tmprl.cloud:7233"',
        'namespace = "moovitamix.a1b2c"',
        `api_key = "${KEY}"`,
        '',
        '[profile.mtls]',
        'address = "temporal.example.com:7233"',
        '[profile.mtls.tls]',
        `server_ca_cert_path = "${join(dir, 'ca.pem')}"`,
        'server_name = "frontend.example.com"',
        '',
        '[profile.broken]',
        'address = "no-port-here"',
        '',
      ].join('\n'),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('connects in plain gRPC to the local dev server when nothing is configured', () => {
    const c = loadConfig({ HOME: join(dir, 'nobody') });
    expect(c.temporalAddress).to.equal('127.0.0.1:7233');
    expect(c.temporalNamespace).to.equal('default');
    expect(c.temporal).to.deep.equal({ profile: undefined, apiKey: undefined, tls: undefined, metadata: undefined });
    expect(connectOptions(c.temporalAddress, c.temporal)).to.deep.equal({ address: '127.0.0.1:7233' });
    expect(describeTemporalSecurity(c.temporal)).to.equal('TLS off (plain gRPC)');
  });

  it("reads the default profile of TEMPORAL_CONFIG_FILE, and of the user's temporal.toml", () => {
    const c = loadConfig({ TEMPORAL_CONFIG_FILE: file });
    expect([c.temporalAddress, c.temporalNamespace, c.temporal.profile]).to.deep.equal(['temporal.internal:7233', 'pipelines', 'default']);
    const home = join(dir, 'home');
    mkdirSync(join(home, '.config', 'temporalio'), { recursive: true });
    writeFileSync(join(home, '.config', 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "from-home:7233"\n');
    const fromHome = loadConfig({ HOME: home });
    expect([fromHome.temporalAddress, fromHome.temporal.profile]).to.deep.equal(['from-home:7233', 'default']);
  });

  it("lets the project's variables win over the profile", () => {
    const c = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_ADDRESS: 'override:7234', TEMPORAL_NAMESPACE: 'other' });
    expect([c.temporalAddress, c.temporalNamespace]).to.deep.equal(['override:7234', 'other']);
  });

  it('turns TLS on with an API key (Temporal Cloud), and never shows the key', () => {
    const c = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' });
    expect(c.temporalAddress).to.equal('moovitamix.a1b2c.tmprl.cloud:7233');
    expect(c.temporalNamespace).to.equal('moovitamix.a1b2c');
    expect(connectOptions(c.temporalAddress, c.temporal)).to.deep.equal({ address: 'moovitamix.a1b2c.tmprl.cloud:7233', apiKey: KEY, tls: true });
    const shown = JSON.stringify(describeConfig(c)) + describeTemporalSecurity(c.temporal);
    expect(shown).to.not.include(KEY);
    expect(describeConfig(c)).to.include({
      TEMPORAL_API_KEY: 'set (not shown: it is a credential)',
      TEMPORAL_TLS: 'on (system CAs)',
      TEMPORAL_PROFILE: 'cloud',
    });
    // The same from variables alone.
    const fromEnv = loadConfig({ TEMPORAL_ADDRESS: 'x.tmprl.cloud:7233', TEMPORAL_API_KEY: KEY });
    expect(connectOptions(fromEnv.temporalAddress, fromEnv.temporal)).to.deep.equal({ address: 'x.tmprl.cloud:7233', apiKey: KEY, tls: true });
  });

  it('reads TLS files and the server name of a profile; TEMPORAL_TLS=false turns TLS off', () => {
    const c = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'mtls' });
    const tls = c.temporal.tls;
    if (tls === undefined || tls === true) throw new Error(`expected TLS settings, got ${String(tls)}`);
    expect(tls.serverNameOverride).to.equal('frontend.example.com');
    expect(Buffer.from(tls.serverRootCACertificate as Uint8Array).toString()).to.include('BEGIN CERTIFICATE');
    expect(tls.clientCertPair).to.equal(undefined);
    expect(describeTemporalSecurity(c.temporal)).to.equal('TLS on, server CA given, server name frontend.example.com; profile mtls');
    const off = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud', TEMPORAL_TLS: 'false' });
    expect(off.temporal.tls).to.equal(undefined);
  });

  it('reports a missing file, an unknown profile, an unreadable certificate and a bad address clearly', () => {
    const problems = (vars: NodeJS.ProcessEnv) => {
      try {
        loadConfig(vars);
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a ConfigError');
    };
    expect(problems({ TEMPORAL_CONFIG_FILE: join(dir, 'none.toml') })).to.include(`TEMPORAL_CONFIG_FILE names ${join(dir, 'none.toml')}, which does not exist`);
    expect(problems({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' })).to.include("Profile 'staging' not found");
    expect(problems({ TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'missing.pem'), TEMPORAL_TLS_CLIENT_KEY_PATH: join(dir, 'missing.key') })).to.include('missing');
    expect(problems({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'broken' })).to.include(
      'Temporal profile broken: address must be host:port (got "no-port-here")',
    );
  });
});
