import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: this file is compiled to dist/config/paths.js. */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Default home of built server binaries: shared by every clone on the machine. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'moovitamix');
}

export function defaultDataDir(): string {
  return join(projectRoot, '.data');
}

/** The package's version, from package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}
