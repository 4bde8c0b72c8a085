import { serveTasks } from '../../models/threadPool.js';
import { stageText, type StagedText } from './stagePage.js';

// One thread of the staging pool: reads, validates and stages the page bodies it is sent.
serveTasks(stageText, (out: StagedText) => [out.staged.records.buffer as ArrayBuffer]);
