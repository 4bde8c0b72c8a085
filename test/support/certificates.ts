import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files of a test PKI: paths, and the contents for a server that needs them in memory. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate and key from another CA, which the server must refuse. */
  strangerCert: string;
  strangerKey: string;
  read(path: string): Buffer;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed (openssl is part of every Debian install; is it on PATH?): ${(err as Error).message}`);
  }
}

/**
 * A CA, a server certificate for `serverName` (and localhost, 127.0.0.1), a client
 * certificate it signed, and a stranger's client certificate signed by another CA: P-256
 * keys, valid for two days, made with the openssl command in `dir`.
 */
export function makeTestPki(dir: string, serverName: string): TestPki {
  mkdirSync(dir, { recursive: true });
  const key = (name: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  const ca = (name: string) => {
    key(name);
    openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        `${name}.key`,
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      dir,
    );
  };
  const leaf = (name: string, signer: string, extensions: string) => {
    key(name);
    openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    writeFileSync(join(dir, `${name}.ext`), `${extensions}\nbasicConstraints=critical,CA:FALSE\n`);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${signer}.pem`,
        '-CAkey',
        `${signer}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  ca('ca');
  ca('stranger-ca');
  leaf('server', 'ca', `subjectAltName=DNS:${serverName},DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature`);
  leaf('client', 'ca', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature');
  leaf('stranger', 'stranger-ca', 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature');
  const at = (file: string) => join(dir, file);
  return {
    dir,
    caCert: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    strangerCert: at('stranger.pem'),
    strangerKey: at('stranger.key'),
    read: (path) => readFileSync(path),
  };
}
