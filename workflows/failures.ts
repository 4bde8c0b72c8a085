import { ApplicationFailure } from '@temporalio/workflow';

/** The innermost message of a chain of failures: the one that says what went wrong. */
export function rootMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && typeof e === 'object' && e.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}

/**
 * The first detail of the first ApplicationFailure in the chain that has details
 * (of the given type, if one is named): how activities and child workflows hand
 * their partial counts over when they fail.
 */
export function failureDetails<T>(err: unknown, type?: string): T | undefined {
  const failure = findFailure(err, (e) => (type === undefined || e.type === type) && !!e.details?.length);
  return failure?.details?.[0] as T | undefined;
}

/** Whether an ApplicationFailure of this type is in the chain (an activity's own failure, under its ActivityFailure). */
export function hasFailureType(err: unknown, type: string): boolean {
  return findFailure(err, (e) => e.type === type) !== undefined;
}

/** The first ApplicationFailure in the chain of causes that `matches`. */
function findFailure(err: unknown, matches: (e: ApplicationFailure) => boolean): ApplicationFailure | undefined {
  for (let e = err as { cause?: unknown } | undefined; e && typeof e === 'object'; e = e.cause as typeof e) {
    if (e instanceof ApplicationFailure && matches(e)) return e;
  }
  return undefined;
}
