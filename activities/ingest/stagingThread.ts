import { serveTasks } from '../threadPool.js';
import { stageText, type StagedText } from './stagePage.js';

// One thread of the staging pool: reads, validates and stages the page bodies it is sent.
serveTasks(stageText, (out: StagedText) => [out.records.buffer as ArrayBuffer]);
