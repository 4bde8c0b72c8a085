import { totalmem } from 'node:os';

/** The training memory budget when none is configured: half the machine's memory, in MB. */
export function defaultTrainingMemoryMb(): number {
  return Math.floor(totalmem() / 2 / 2 ** 20);
}
