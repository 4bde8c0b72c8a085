import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageVersion } from '../../config/paths.js';

let cached: string | undefined;

/**
 * What code trained a model: the package version and a hash of the compiled model code
 * (`dist/models`), so two versions trained by different model code never look alike.
 */
export function codeVersion(): string {
  if (cached) return cached;
  const version = packageVersion();
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) hash.update(entry.name).update(readFileSync(path));
    }
  };
  walk(fileURLToPath(new URL('../../models/', import.meta.url)));
  cached = `${version}+${hash.digest('hex').slice(0, 12)}`;
  return cached;
}
