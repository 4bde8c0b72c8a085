import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/config.js';
import { createService } from '../../service/server.js';
import { connectDb } from '../mongo.js';
import { UsageError } from '../../config/usageError.js';

export const SERVE_USAGE = `Usage: moovitamix serve [--host H] [--port P]

Serves the project's HTTP service until SIGINT or SIGTERM, on 127.0.0.1:8080 by default:
  /                 the pipeline health dashboard (read-only)
  /api/dashboard    its data as JSON (?limit=N runs, 1..365, default 30)
  /users/ID/recommendations?limit=N
                    a user's recommendations from the active batch (limit 1..100;
                    404 unknown user, 400 malformed id or limit, 503 nothing published);
                    with MOOVITAMIX_CANARY_SHARE > 0 and a challenger batch, that share
                    of users is served from the challenger's batch ("arm" says which)
  POST /feedback    impressions, plays and likes per user, track and model (JSON: one
                    event or {"events": [...]}, up to 500; 202 with accepted/duplicates)
  /health           200 when the database answers (with the active and challenger batches), 503 when it does not
Bind to another host only behind a proxy that authenticates: the service has no login.`;

export async function serveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8080' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(SERVE_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`serve takes no positional arguments, got: ${positionals.join(' ')}`);
  const port = Number(values.port);
  if (!/^\d{1,5}$/.test(values.port) || port > 65535) throw new UsageError(`--port must be 0-65535, got "${values.port}"`);
  if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(values.host)) throw new UsageError(`--host must be a host name or IP address, got "${values.host}"`);

  const config = loadConfig();
  const { db, close } = await connectDb(config);
  const server = createService({ db, canaryShare: config.canaryShare });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${values.host} is in use; pick another with --port`) : err),
    );
    server.listen(port, values.host, resolve);
  });
  const address = server.address();
  const shown =
    typeof address === 'object' && address
      ? `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
      : `${values.host}:${port}`;
  console.log(
    `Serving on http://${shown}/ (dashboard /, JSON: /users/ID/recommendations, POST /feedback, /api/dashboard, /health)${config.canaryShare > 0 ? `; canary: ${config.canaryShare} of users from the challenger batch when one is published` : ''}`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  await close();
  console.log('Stopped');
  return 0;
}
