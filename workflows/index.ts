// The worker's workflowsPath: every workflow type it serves.
export { dailyPipeline } from './dailyPipeline.js';
export { ingestSource } from './ingestSource.js';
export { recommend } from './recommend.js';
export { retrain } from './retrain.js';
