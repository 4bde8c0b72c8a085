import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defaultCacheDir } from '../config/paths.js';

/** What the Python peers need: numpy/scipy (RP3beta, EASE) and implicit (kNN, ALS). */
export const PEER_PACKAGES = ['numpy', 'scipy', 'threadpoolctl', 'implicit==0.7.3'];

/**
 * The python of the benchmarks' own venv with the peers' packages (created on first use
 * under the cache directory, reused by every clone), or why there is none.
 */
export function peerPython(log: (line: string) => void): string | { skipped: string } {
  const venv = join(defaultCacheDir(), 'peer-venv');
  const python = join(venv, 'bin', 'python');
  const ready = () => spawnSync(python, ['-c', 'import implicit, numpy, scipy, threadpoolctl'], { stdio: 'ignore' }).status === 0;
  if (existsSync(python) && ready()) return python;
  log(`creating the peers' Python venv in ${venv} (${PEER_PACKAGES.join(', ')})`);
  const made = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  if (made.status !== 0) return { skipped: `python3 -m venv ${venv} failed: no Python 3 with venv here` };
  const pip = spawnSync(python, ['-m', 'pip', 'install', '--quiet', ...PEER_PACKAGES], { stdio: 'inherit' });
  if (pip.status !== 0 || !ready()) return { skipped: `pip could not install ${PEER_PACKAGES.join(' ')} into ${venv}` };
  return python;
}
