// Build step (npm run build): bundles the workflows once, for fast worker starts.
import { writeFile } from 'node:fs/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_TRACING_MODULE } from './tracing.js';
import { prebuiltBundlePath, workflowsPath } from './workflowBundle.js';

const started = performance.now();
const { code } = await bundleWorkflowCode({
  workflowsPath,
  // Tracing's workflow interceptors, always: the same code runs whether a worker traces or not.
  workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
  logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
});
await writeFile(prebuiltBundlePath, code);
console.log(`Bundled workflows into ${prebuiltBundlePath} (${(code.length / 1024).toFixed(0)} KiB, ${Math.round(performance.now() - started)} ms)`);
