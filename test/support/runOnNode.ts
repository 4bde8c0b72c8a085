// `npm run test:node -- <major> [mocha arguments]`: the suite (or the given test files) on
// another Node.js major version, fetched from the npm registry into the cache, beside the
// machine's own Node. Build first (`npm run build`); the suite's child processes (the CLI,
// workers) run on the same version, since they are started with process.execPath.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../config/config.js';
import { projectRoot } from '../../config/paths.js';
import { nodeRuntime } from './nodeRuntime.js';

const [majorText, ...mochaArgs] = process.argv.slice(2);
const major = Number(majorText);
if (!Number.isInteger(major) || major < 18) {
  console.error('usage: npm run test:node -- <major version, e.g. 24> [mocha arguments]');
  process.exit(2);
}
const node = nodeRuntime(major, loadConfig().cacheDir, (line) => console.error(`[test:node] ${line}`));
console.error(`[test:node] running the suite on Node.js ${node.version} (${node.path})`);
const result = spawnSync(node.path, [join(projectRoot, 'node_modules', 'mocha', 'bin', 'mocha.js'), ...mochaArgs], { stdio: 'inherit', cwd: projectRoot });
process.exit(result.status ?? 1);
