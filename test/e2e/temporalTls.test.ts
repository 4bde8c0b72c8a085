import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSimulator, type Simulator } from '../../simulator/server.js';
import { makeTestPki, type TestPki } from '../support/certificates.js';
import { startWorkerProcess, stopWorker, until, type WorkerProcess } from '../support/chaos.js';
import { runCli } from '../support/cli.js';
import { getTestStack, type TestStack } from '../support/testStack.js';
import { startTlsProxy, type TlsProxy } from '../support/tlsProxy.js';

// A secured Temporal for real: a TLS endpoint that requires a client certificate stands in
// front of the dev server, and a worker and the CLI reach it only through Temporal's
// environment configuration (a profile in a TOML file, or TEMPORAL_TLS_* variables).

const DATE = '2025-02-11';
const SERVER_NAME = 'temporal.test';

describe('Temporal over mutual TLS, configured the way the temporal CLI is', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let pki: TestPki;
  let proxy: TlsProxy;
  let sim: Simulator;
  let worker: WorkerProcess | undefined;
  let base: NodeJS.ProcessEnv;

  before(async () => {
    stack = await getTestStack();
    pki = makeTestPki(join(stack.dir, 'pki'), SERVER_NAME);
    proxy = await startTlsProxy({ target: stack.temporalAddress, cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey), ca: pki.read(pki.caCert) });
    sim = createSimulator({ seed: 'tls', tracks: 150, users: 150 });
    base = stack.env({
      MONGODB_DB: `${stack.mongodbDb}_tls`,
      TEMPORAL_TASK_QUEUE: `tls-${process.pid}`,
      MOOVITAMIX_API_URL: await sim.listen(0),
      MOOVITAMIX_HTTP_BACKOFF_MS: '20',
    });
    // Only the TLS endpoint: the plain address the test stack sets must not be what connects.
    delete base.TEMPORAL_ADDRESS;
  });
  after(async () => {
    await stopWorker(worker);
    await proxy?.close();
    await sim?.close();
  });

  /** Temporal's variables for the endpoint, with this client certificate and key. */
  const tlsVariables = (cert: string, key: string) => ({
    TEMPORAL_ADDRESS: proxy.address,
    TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: key,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  });

  it('runs a daily pipeline through the endpoint: the worker from a profile file, the CLI from variables', async () => {
    const file = join(pki.dir, 'temporal.toml');
    writeFileSync(
      file,
      [
        '[profile.secured]',
        `address = "${proxy.address}"`,
        'namespace = "default"',
        '[profile.secured.tls]',
        `client_cert_path = "${pki.clientCert}"`,
        `client_key_path = "${pki.clientKey}"`,
        `server_ca_cert_path = "${pki.caCert}"`,
        `server_name = "${SERVER_NAME}"`,
        '',
      ].join('\n'),
    );
    const workerEnv = { ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'secured' };
    worker = await startWorkerProcess(workerEnv);
    const out = worker.output();
    const polling = out.split('\n').find((l) => l.includes('Worker polling')) as string;
    expect(polling)
      .to.include(proxy.address)
      .and.to.include('mutual TLS (client certificate)')
      .and.to.include('server name temporal.test')
      .and.to.include('profile secured');
    const handshakes = proxy.forwarded;
    expect(handshakes, 'the worker connected through the TLS endpoint').to.be.greaterThan(0);

    const run = await runCli(['run', '--date', DATE, '--wait', '--json'], { ...base, ...tlsVariables(pki.clientCert, pki.clientKey) });
    expect(run.code, run.stderr).to.equal(0);
    const result = JSON.parse(run.stdout) as { workflowId: string; status: string; result?: { health?: { status: string } } };
    expect(result.workflowId).to.equal(`daily-${DATE}`);
    expect(result.status).to.equal('COMPLETED');
    expect(proxy.forwarded, 'the CLI connected through it too').to.be.greaterThan(handshakes);

    // The finished run, read back from Temporal through the profile.
    const status = await runCli(['watch', `daily-${DATE}`, '--json'], { ...base, TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'secured' });
    expect(status.code, status.stderr).to.equal(0);
    expect(JSON.parse(status.stdout)).to.include({ workflowId: `daily-${DATE}`, status: 'COMPLETED' });

    // Found by its search attributes, through the endpoint (visibility follows the run by a moment).
    let listed: { workflowId: string; attributes: Record<string, unknown> }[] = [];
    await until(
      async () => {
        const runs = await runCli(
          ['runs', '--query', `MoovitamixRunDate BETWEEN '${DATE}T00:00:00Z' AND '${DATE}T23:59:59Z' AND MoovitamixStatus = 'completed'`, '--json'],
          {
            ...base,
            ...tlsVariables(pki.clientCert, pki.clientKey),
          },
        );
        expect(runs.code, runs.stderr).to.equal(0);
        listed = (JSON.parse(runs.stdout) as { runs: typeof listed }).runs;
        return listed.length > 0;
      },
      30_000,
      'the run listed by its search attributes',
    );
    expect(listed.map((r) => r.workflowId)).to.deep.equal([`daily-${DATE}`]);
    expect(listed[0]?.attributes).to.include({ MoovitamixRunDate: DATE, MoovitamixStatus: 'completed', MoovitamixPublished: true });

    // No key material in what the processes printed.
    const key = readFileSync(pki.clientKey, 'utf8');
    const secretLine = key.split('\n')[1] as string;
    for (const text of [worker.output(), run.stdout, run.stderr, status.stdout, status.stderr]) {
      expect(text).to.not.include('PRIVATE KEY');
      expect(text).to.not.include(secretLine);
    }
  });

  it('refuses a client certificate of another CA with an error that says where and how it connected', async () => {
    const refusedBefore = proxy.refused;
    const r = await runCli(['schedule', 'list'], { ...base, ...tlsVariables(pki.strangerCert, pki.strangerKey) });
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.include(`Cannot reach Temporal at ${proxy.address}`).and.to.include('mutual TLS (client certificate)');
    // What the SDK does not say: the handshake's own verdict.
    expect(r.stderr).to.match(/TLS handshake with 127\.0\.0\.1:\d+: .*refused the client certificate/);
    expect(r.stderr).to.not.include('PRIVATE KEY');
    expect(proxy.refused, 'the endpoint refused the handshake').to.be.greaterThan(refusedBefore);

    // The worker too refuses to start, and says why.
    const refusedWorker = await runCli(['worker'], { ...base, ...tlsVariables(pki.strangerCert, pki.strangerKey), MOOVITAMIX_METRICS_PORT: '0' }, 60_000);
    expect(refusedWorker.code).to.not.equal(0);
    expect(refusedWorker.stdout + refusedWorker.stderr)
      .to.include(`Cannot reach Temporal at ${proxy.address}`)
      .and.to.match(/refused the client certificate/);

    // The other way round: the server's certificate is not the one expected.
    const good = tlsVariables(pki.clientCert, pki.clientKey);
    const otherName = await runCli(['schedule', 'list'], { ...base, ...good, TEMPORAL_TLS_SERVER_NAME: 'elsewhere.test' });
    expect(otherName.code).to.not.equal(0);
    expect(otherName.stderr).to.include('TLS handshake with').and.to.include('elsewhere.test').and.to.include('ERR_TLS_CERT_ALTNAME_INVALID');
    const otherCa = await runCli(['schedule', 'list'], { ...base, ...good, TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(pki.dir, 'stranger-ca.pem') });
    expect(otherCa.code).to.not.equal(0);
    expect(otherCa.stderr)
      .to.include('TLS handshake with')
      .and.to.match(/unable to verify|self.signed|UNABLE_TO_VERIFY|unknown ca/i);
  });

  it('refuses a plain connection to a TLS endpoint, and names a certificate file that is not there', async () => {
    const plain = await runCli(['schedule', 'list'], { ...base, TEMPORAL_ADDRESS: proxy.address });
    expect(plain.code).to.not.equal(0);
    expect(plain.stderr).to.include(`Cannot reach Temporal at ${proxy.address}`).and.to.include('TLS off');
    expect(plain.stderr).to.include('speaks TLS and this connection does not: set TEMPORAL_TLS=true');

    const missing = await runCli(['schedule', 'list'], { ...base, ...tlsVariables(join(pki.dir, 'nope.pem'), pki.clientKey) });
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.include('nope.pem');
    expect(missing.stderr).to.not.include('PRIVATE KEY');

    const noProfile = await runCli(['schedule', 'list'], { ...base, TEMPORAL_CONFIG_FILE: join(pki.dir, 'temporal.toml'), TEMPORAL_PROFILE: 'nowhere' });
    expect(noProfile.code).to.not.equal(0);
    expect(noProfile.stderr).to.include("Profile 'nowhere' not found");
  });
});
