import { Context } from '@temporalio/activity';

/**
 * Runs `work` while beating every 30 s with its stage: fits and evaluations run on worker
 * threads, leaving this thread free to tell Temporal the activity is alive.
 */
export async function heartbeating<T>(stage: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const beat = () => Context.current().heartbeat({ stage, elapsedMs: Date.now() - started });
  beat();
  const timer = setInterval(beat, 30_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
