// Build step (npm run build): bundles the workflows once, for fast worker starts.
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_TRACING_MODULE } from './tracing.js';
import { prebuiltBundlePath, prebuiltTracedBundlePath, workflowsPath } from './workflowBundle.js';

const logger = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
for (const [path, traced] of [
  [prebuiltBundlePath, false],
  [prebuiltTracedBundlePath, true],
] as const) {
  const started = performance.now();
  // The traced bundle adds tracing's workflow interceptors (worker/tracing.ts); the workflows are the same.
  const { code } = await bundleWorkflowCode({ workflowsPath, ...(traced ? { workflowInterceptorModules: [WORKFLOW_TRACING_MODULE] } : {}), logger });
  await writeFile(path, code);
  console.log(`Bundled workflows into ${path} (${(code.length / 1024).toFixed(0)} KiB, ${Math.round(performance.now() - started)} ms)`);
}
