import { serveTasks } from '../threadPool.js';
import { runTask, type TrainTask } from './tasks.js';

// One training thread of the pool: runs the tasks it is sent, writing into shared memory.
serveTasks<TrainTask, void>(runTask);
