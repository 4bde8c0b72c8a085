import { createHash } from 'node:crypto';

/*
 * Which users the canary serves from the challenger's batch. A user's place is a stable
 * hash of the id, so a user stays on one side for as long as the share is unchanged,
 * and a larger share only adds users (everyone below 0.1 is also below 0.3).
 */

export type Arm = 'champion' | 'challenger';

/** The first 4 bytes of sha256 of the decimal id, over 2^32: uniform in [0, 1). */
export function canaryBucket(userId: number): number {
  return createHash('sha256').update(String(userId)).digest().readUInt32BE(0) / 2 ** 32;
}

/** The arm a user is assigned to; share 0 (or no challenger) keeps everyone on the champion. */
export function canaryArm(userId: number, share: number): Arm {
  return share > 0 && canaryBucket(userId) < share ? 'challenger' : 'champion';
}
