import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A Node.js binary of another major version, for running the suite on it: the npm
 * registry's `node-<platform>-<arch>` package (what the `node` package installs), packed
 * and unpacked once into `cacheDir/node/<version>`, without root. Returns its path and version.
 */
export function nodeRuntime(major: number, cacheDir: string, log: (line: string) => void = () => {}): { path: string; version: string } {
  const os = platform() === 'win32' ? 'win' : platform();
  const pkg = `node-${os}-${arch()}`;
  let versions: string[];
  try {
    const out = execFileSync('npm', ['view', `${pkg}@${major}`, 'version', '--json'], { encoding: 'utf8' });
    const parsed = JSON.parse(out) as string | string[];
    versions = Array.isArray(parsed) ? parsed : [parsed];
  } catch (err) {
    throw new Error(`no Node.js ${major} for ${os}-${arch()} in the npm registry (${pkg}): ${(err as Error).message}`);
  }
  const version = versions.at(-1) as string;
  const dir = join(cacheDir, 'node', version);
  const binary = join(dir, 'bin', os === 'win' ? 'node.exe' : 'node');
  if (existsSync(binary)) return { path: binary, version };
  log(`fetching Node.js ${version} (${pkg}) from the npm registry into ${dir}`);
  const scratch = mkdtempSync(join(tmpdir(), 'moovitamix-node-'));
  try {
    const file = execFileSync('npm', ['pack', `${pkg}@${version}`, '--pack-destination', scratch, '--silent'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1) as string;
    execFileSync('tar', ['xzf', join(scratch, file), '-C', scratch]);
    mkdirSync(join(cacheDir, 'node'), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(scratch, 'package'), dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const reported = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  if (reported !== `v${version}`) throw new Error(`${binary} says ${reported}, expected v${version}`);
  return { path: binary, version };
}
