import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig } from '../../config/config.js';
import { projectRoot } from '../../config/paths.js';
import { SETTINGS, settingsTable } from '../../config/settings.js';
import { runCli } from '../support/cli.js';

// The reference pages must name everything a user can set or type: every environment
// variable the product reads in docs/configuration.md, every CLI command in docs/cli.md.

const doc = (name: string) => readFileSync(join(projectRoot, 'docs', name), 'utf8');

/** The folders of product code (not tests, not benchmarks), as TypeScript sources. */
const PRODUCT = ['activities', 'client', 'config', 'contracts', 'models', 'service', 'simulator', 'sources', 'stack', 'worker', 'workflows'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Variables loadConfig reads: every key it looks up in the environment it is given. */
function readByLoadConfig(): Set<string> {
  const read = new Set<string>();
  const env = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_target, key) => {
      if (typeof key === 'string') read.add(key);
      return undefined;
    },
  });
  loadConfig(env);
  return read;
}

/** Variables read directly elsewhere: `process.env.NAME`, `env.NAME`, `env['NAME']`, `variable: 'NAME'`. */
function readInSources(): Map<string, string> {
  const found = new Map<string, string>();
  const pattern =
    /\b(?:process\.env|env)(?:\.([A-Z][A-Z0-9_]+)|\[['"]([A-Z][A-Z0-9_]+)['"]\])|variable: '([A-Z][A-Z0-9_]+)'|(?:whole|fraction)Setting\(\s*'([A-Z][A-Z0-9_]+)'/g;
  for (const folder of PRODUCT) {
    for (const file of sources(join(projectRoot, folder))) {
      for (const m of readFileSync(file, 'utf8').matchAll(pattern)) found.set((m[1] ?? m[2] ?? m[3] ?? m[4]) as string, relative(projectRoot, file));
    }
  }
  return found;
}

describe('reference documentation', () => {
  it('docs/configuration.md names every environment variable the product reads', () => {
    const page = doc('configuration.md');
    const byConfig = readByLoadConfig();
    const inSources = readInSources();
    // Found both ways: neither list can silently come back empty.
    expect(byConfig.size, [...byConfig].join(' ')).to.be.greaterThan(30);
    expect(inSources.size).to.be.greaterThan(30);
    expect([...byConfig]).to.include.members([
      'MOOVITAMIX_API_URL',
      'MONGODB_URI',
      'TEMPORAL_ADDRESS',
      'MOOVITAMIX_METRICS_PORT',
      'MOOVITAMIX_RETRAIN_FAMILIES',
    ]);
    expect([...inSources.keys()]).to.include.members(['MOOVITAMIX_LOG_LEVEL', 'TEMPORAL_UI_URL']);
    // HOME is the user's home, no setting of ours.
    const names = new Set([...byConfig, ...inSources.keys()].filter((n) => n !== 'HOME'));
    const missing = [...names].filter((name) => !new RegExp(`\\b${name}\\b`).test(page)).map((name) => `${name} (${inSources.get(name) ?? 'loadConfig'})`);
    expect(missing, 'variables read but not documented in docs/configuration.md').to.deep.equal([]);
  });

  it('docs/configuration.md holds the settings table as config/settings.ts generates it, and the table every variable the product reads', () => {
    const page = doc('configuration.md');
    const block = page.split('<!-- settings table: generated from config/settings.ts -->\n')[1]?.split('\n<!-- end of settings table -->')[0];
    expect(block, 'run `node dist/config/writeSettingsDoc.js` to write it again').to.equal(settingsTable());
    const listed = new Set(SETTINGS.map((s) => s.variable));
    const unlisted = [...readByLoadConfig(), ...readInSources().keys()].filter((name) => name !== 'HOME' && name !== 'XDG_CACHE_HOME' && !listed.has(name));
    expect(unlisted, 'variables read but not in config/settings.ts').to.deep.equal([]);
    expect(listed.size).to.be.greaterThan(40);
  });

  it("docs/cli.md names every command and subcommand of the CLI's own help", async () => {
    const help = await runCli(['--help'], process.env);
    expect(help.code).to.equal(0);
    const block = help.stdout.split('Commands:\n')[1]?.split('\n\n')[0] ?? '';
    const commands: string[] = [];
    for (const line of block.split('\n')) {
      // "  models list|show|promote|rollback|evaluate" or "  recommend [--full] ...   compute ...; rollback|status|show"
      const m = /^ {2}([a-z]+)(?: ([a-z]+(?:\|[a-z]+)+)(?= |$))?(.*)$/.exec(line);
      if (!m) continue;
      const [, command, subs, rest] = m as unknown as [string, string, string | undefined, string];
      const trailing = /; ([a-z]+(?:\|[a-z]+)+)$/.exec(rest)?.[1];
      commands.push(command);
      for (const sub of [subs, trailing].filter((s) => s !== undefined).flatMap((s) => s.split('|'))) commands.push(`${command} ${sub}`);
    }
    expect(commands).to.include.members(['run', 'worker', 'models evaluate', 'schedule install', 'stack up', 'recommend rollback']);
    expect(commands.length).to.be.greaterThan(25);
    const page = doc('cli.md');
    const missing = [...new Set(commands)].filter((c) => !page.includes(`moovitamix ${c}`));
    expect(missing, 'commands in the help but not in docs/cli.md').to.deep.equal([]);
  });
});
