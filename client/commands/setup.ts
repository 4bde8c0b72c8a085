import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../../config/config.js';
import { UsageError } from '../../config/usageError.js';
import { registerSearchAttributes } from '../../stack/searchAttributes.js';
import { withClient } from '../temporalClient.js';

export const SETUP_USAGE = `Usage: moovitamix setup

Prepares the Temporal namespace (TEMPORAL_NAMESPACE) for the pipeline: registers the
search attributes its workflows set (MoovitamixRunDate, MoovitamixStatus, ...), leaving
those already there alone, so it is safe to run again. Needs the operator API (a
cluster's admin, or the dev server); on Temporal Cloud, add them with tcld as the worker's
error says. The dev stack's server has them from its start.`;

export async function setupCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  if (values.help) {
    console.log(SETUP_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`setup takes no arguments, got: ${positionals.join(' ')}`);
  const config = loadConfig();
  const done = await setupNamespace(config);
  console.log(
    `Namespace ${config.temporalNamespace}: search attributes ${done.added.length > 0 ? `added: ${done.added.join(', ')}` : 'all present'}` +
      (done.present.length > 0 && done.added.length > 0 ? `; already there: ${done.present.join(', ')}` : ''),
  );
  return 0;
}

/** Registers what the namespace lacks; idempotent. */
export function setupNamespace(config: Config): Promise<{ added: string[]; present: string[] }> {
  return withClient(config, (client) => registerSearchAttributes(client.connection.operatorService, config.temporalNamespace));
}
