import { parentPort } from 'node:worker_threads';
import { runTask, type TrainTask } from './tasks.js';

// One training thread of the pool: runs the tasks it is sent, writing into shared memory.
parentPort?.on('message', (message: { id: number; task: TrainTask }) => {
  try {
    runTask(message.task);
    parentPort?.postMessage({ id: message.id });
  } catch (err) {
    parentPort?.postMessage({ id: message.id, error: (err as Error).message });
  }
});
