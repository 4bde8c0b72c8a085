import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Compiled workflows: what the worker bundles if no prebuilt bundle is usable. */
export const workflowsPath = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
const workflowsDir = fileURLToPath(new URL('../workflows/', import.meta.url));

/** Written by `npm run build`, so that a worker starts without bundling (webpack takes seconds). */
export const prebuiltBundlePath = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

/** The prebuilt bundle if it is newer than every compiled workflow file; else undefined. */
export function freshPrebuiltBundle(): string | undefined {
  if (!existsSync(prebuiltBundlePath)) return undefined;
  const bundledAt = statSync(prebuiltBundlePath).mtimeMs;
  const newest = Math.max(
    ...readdirSync(workflowsDir)
      .filter((f) => f.endsWith('.js'))
      .map((f) => statSync(join(workflowsDir, f)).mtimeMs),
  );
  return newest <= bundledAt ? prebuiltBundlePath : undefined;
}
