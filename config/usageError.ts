/** Bad command-line usage: reported with exit status 2 and no stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}
