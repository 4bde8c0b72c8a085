import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Compiled workflows: what the worker bundles if no prebuilt bundle is usable. */
export const workflowsPath = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
const workflowsDir = fileURLToPath(new URL('../workflows/', import.meta.url));

/** Written by `npm run build`, so that a worker starts without bundling (webpack takes seconds). */
export const prebuiltBundlePath = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

/**
 * The same workflows with tracing's workflow interceptors (worker/tracing.ts), for workers
 * that trace. A bundle of its own: the interceptors double the bundle, which every
 * workflow context loads, and a worker that does not trace should not pay for them.
 */
export const prebuiltTracedBundlePath = fileURLToPath(new URL('../workflow-bundle-traced.js', import.meta.url));

/** A prebuilt bundle if it is newer than every compiled workflow file; else undefined. */
export function freshPrebuiltBundle(traced = false): string | undefined {
  const path = traced ? prebuiltTracedBundlePath : prebuiltBundlePath;
  if (!existsSync(path)) return undefined;
  const bundledAt = statSync(path).mtimeMs;
  const newest = Math.max(
    ...readdirSync(workflowsDir)
      .filter((f) => f.endsWith('.js'))
      .map((f) => statSync(join(workflowsDir, f)).mtimeMs),
  );
  return newest <= bundledAt ? path : undefined;
}
