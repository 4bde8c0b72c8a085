import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pinned: later tags carry a `replace` directive, which `go install pkg@version` refuses. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const FERRETDB_VERSION = 'v1.24.2';

const ferretdbSourceDir = fileURLToPath(new URL('../../stack/ferretdb', import.meta.url));

export interface Binary {
  path: string;
  /** Where it came from, for `stack status`: "PATH", "cache" or "built now". */
  origin: string;
}

export type Log = (line: string) => void;

export const NO_GO_HELP = `Go (>= 1.24) is needed once, to build the Temporal dev server and FerretDB: https://go.dev/dl/
Other ways:
  - put a \`temporal\` CLI (https://docs.temporal.io/cli) and/or a \`mongod\` (MongoDB 7) on PATH;
  - point TEMPORAL_ADDRESS and MONGODB_URI at servers you already run;
  - or run everything on Docker: \`docker compose up\` (see README).`;

/** The full path of a command found on PATH, or undefined (also when no shell can be run). */
export function onPath(command: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = r.stdout?.trim();
  return r.status === 0 && path ? path : undefined;
}

function goAvailable(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

/** The Temporal CLI: one on PATH, else the cached build of the pinned version, else built now. */
export async function ensureTemporal(cacheDir: string, log: Log): Promise<Binary> {
  const fromPath = onPath('temporal');
  if (fromPath) return { path: fromPath, origin: 'PATH' };
  const dir = join(cacheDir, 'bin', `temporal-cli-${TEMPORAL_CLI_VERSION}`);
  const path = join(dir, 'temporal');
  if (existsSync(path)) return { path, origin: 'cache' };
  await goBuild({
    what: `Temporal CLI ${TEMPORAL_CLI_VERSION} (Temporal server 1.29.1 and its UI)`,
    expected: 'about 3 minutes on 2 cores',
    targetDir: dir,
    cacheDir,
    log,
    // Outside any module, so no go.work or go.mod of the caller interferes.
    args: (tmpDir) => ({ cwd: cacheDir, argv: ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], env: { GOBIN: tmpDir } }),
  });
  return { path, origin: 'built now' };
}

/** The cache key of our FerretDB wrapper: a change to its sources or pinned versions rebuilds it. */
export function ferretdbBuildKey(sourceDir = ferretdbSourceDir): string {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go', 'patches.json']) hash.update(readFileSync(join(sourceDir, file)));
  return `${FERRETDB_VERSION}-${hash.digest('hex').slice(0, 12)}`;
}

/** FerretDB embedded in the project's own Go program (stack/ferretdb), cached per build key. */
export async function ensureFerretdb(cacheDir: string, log: Log): Promise<Binary> {
  const dir = join(cacheDir, 'bin', `ferretdb-${ferretdbBuildKey()}`);
  const path = join(dir, 'moovitamix-ferretdb');
  if (existsSync(path)) return { path, origin: 'cache' };
  await goBuild({
    what: `FerretDB ${FERRETDB_VERSION} (MongoDB wire protocol over SQLite)`,
    expected: 'about 1 minute on 2 cores',
    targetDir: dir,
    cacheDir,
    log,
    args: (tmpDir) => ({
      cwd: ferretdbSourceDir,
      argv: ['build', '-trimpath', '-o', join(tmpDir, 'moovitamix-ferretdb'), '.'],
      env: { GOWORK: preparePatchedWorkspace(join(tmpDir, 'workspace')) },
      scratch: join(tmpDir, 'workspace'),
    }),
  });
  return { path, origin: 'built now' };
}

interface SourcePatch {
  module: string;
  file: string;
  find: string;
  replace: string;
  why: string;
}

/**
 * Applies stack/ferretdb/patches.json: copies each patched module out of the module
 * cache (Go refuses -overlay for files there), patches the copy and returns a
 * go.work that replaces the module with it. Nothing of FerretDB is copied into
 * this repository, and a patch whose text is not found fails the build.
 */
function preparePatchedWorkspace(dir: string): string {
  const patches = JSON.parse(readFileSync(join(ferretdbSourceDir, 'patches.json'), 'utf8')) as SourcePatch[];
  const replaced = new Map<string, { version: string; copy: string }>();
  for (const patch of patches) {
    let target = replaced.get(patch.module);
    if (!target) {
      const download = spawnSync('go', ['mod', 'download', '-json', patch.module], { cwd: ferretdbSourceDir, encoding: 'utf8' });
      if (download.status !== 0) throw new Error(`go mod download ${patch.module} failed:\n${download.stderr || download.stdout}`);
      const info = JSON.parse(download.stdout) as { Dir: string; Version: string };
      target = { version: info.Version, copy: join(dir, patch.module.replace(/[^A-Za-z0-9.-]/g, '_')) };
      cpSync(info.Dir, target.copy, { recursive: true });
      // The module cache is read-only (0555); a copy that stays so cannot be patched, or removed by a non-root user.
      makeWritable(target.copy);
      replaced.set(patch.module, target);
    }
    const file = join(target.copy, patch.file);
    const text = readFileSync(file, 'utf8');
    if (!text.includes(patch.find)) throw new Error(`Cannot patch ${patch.module}/${patch.file}: text not found: ${patch.find}`);
    writeFileSync(file, text.replace(patch.find, patch.replace));
  }
  const work = join(dir, 'go.work');
  const replaces = [...replaced].map(([module, { version, copy }]) => `replace ${module} ${version} => ${copy}`);
  writeFileSync(work, ['go 1.24', `use ${ferretdbSourceDir}`, ...replaces, ''].join('\n'));
  return work;
}

function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) makeWritable(path);
    else if (entry.isFile()) chmodSync(path, 0o644);
  }
}

interface GoBuild {
  what: string;
  expected: string;
  targetDir: string;
  cacheDir: string;
  log: Log;
  /** How to run go; `scratch` is removed once the build is done. */
  args: (tmpDir: string) => { cwd: string; argv: string[]; env: Record<string, string>; scratch?: string };
}

/**
 * Builds into a temporary directory and renames it into place, so that a build
 * interrupted or run by two clones at once never leaves a half-written binary.
 */
async function goBuild({ what, expected, targetDir, cacheDir, log, args }: GoBuild): Promise<void> {
  if (!goAvailable()) throw new Error(`Cannot build ${what}: Go is not on PATH.\n${NO_GO_HELP}`);
  const tmpDir = `${targetDir}.tmp-${process.pid}`;
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const logFile = join(cacheDir, 'build.log');
  const { cwd, argv, env, scratch } = args(tmpDir);
  log(`Building ${what} with Go, once per machine (${expected}); output in ${logFile}`);
  const started = Date.now();
  const out = createWriteStream(logFile, { flags: 'a' });
  out.write(`\n=== ${new Date().toISOString()} go ${argv.join(' ')}\n`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('go', argv, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    const ticker = setInterval(() => log(`  ... still building ${what.split(' (')[0]} (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
    child.on('error', (err) => {
      clearInterval(ticker);
      reject(err);
    });
    child.on('close', (c) => {
      clearInterval(ticker);
      resolve(c);
    });
  });
  out.end();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  if (code !== 0) {
    rmSync(tmpDir, { recursive: true, force: true });
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    throw new Error(`Building ${what} failed (go exited with ${code}). Last lines of ${logFile}:\n${tail}`);
  }
  try {
    renameSync(tmpDir, targetDir);
  } catch (err) {
    // Another process finished the same build first: keep its binary.
    rmSync(tmpDir, { recursive: true, force: true });
    if (!existsSync(targetDir)) throw err;
  }
  log(`Built ${what.split(' (')[0]} in ${Math.round((Date.now() - started) / 1000)} s`);
}
