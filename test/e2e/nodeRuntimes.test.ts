import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadConfig } from '../../config/config.js';
import { projectRoot } from '../../config/paths.js';
import { nodeRuntime } from '../support/nodeRuntime.js';

// The supported LTS lines besides the machine's own Node: the unit and replay tests, and a
// whole daily run through a worker process and the CLI (the tracing test: every layer,
// Temporal's native bridge, MongoDB, HTTP, worker threads), each on Node 22 and 24 fetched
// from the npm registry. `npm run test:node -- 24` runs the whole suite so.

const SUBSET = ['dist/test/unit/**/*.test.js', 'dist/test/replay/**/*.test.js', 'dist/test/e2e/tracing.test.js'];

function mochaOn(node: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      node,
      [
        join(projectRoot, 'node_modules', 'mocha', 'bin', 'mocha.js'),
        '--no-config',
        '--require',
        'dist/test/support/rootHooks.js',
        '--timeout',
        '120000',
        ...SUBSET,
      ],
      {
        cwd: projectRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('supported Node.js versions', function () {
  this.timeout(600_000);
  for (const major of [22, 24]) {
    it(`Node ${major}: the unit and replay tests and a daily run through a worker and the CLI pass`, async () => {
      const node = nodeRuntime(major, loadConfig().cacheDir, (line) => process.stderr.write(`    [node ${major}] ${line}\n`));
      expect(node.version.split('.')[0]).to.equal(String(major));
      const { code, output } = await mochaOn(node.path);
      const passing = Number(/(\d+) passing/.exec(output)?.[1] ?? 0);
      expect(code, output.slice(-3000)).to.equal(0);
      expect(output).to.not.match(/\d+ failing/);
      // Every unit, replay and tracing test ran, none skipped.
      expect(passing, output.slice(-1000)).to.be.greaterThan(215);
      expect(output).to.not.match(/\d+ pending/);
      expect(output).to.include('is one tree: the CLI command, the workflow, its children');
    });
  }
});
