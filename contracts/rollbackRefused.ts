/**
 * A rollback that cannot be done (of the recommendations' batch or of the champion model):
 * nothing was changed, and the CLI reports it as a refusal with its reason, not as a fault.
 */
export class RollbackRefused extends Error {
  override name = 'RollbackRefused';
}
