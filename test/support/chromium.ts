import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../../config/config.js';
import { onPath } from '../../stack/binaries.js';

/*
 * The browser the UI tests drive. `npm install` brings it: the devDependency
 * @sparticuz/chromium ships a headless Chromium for linux-x64 inside its npm tarball,
 * brotli-compressed. The first test that needs it inflates it once per machine into the
 * cache (MOOVITAMIX_CACHE_DIR, default ~/.cache/moovitamix), without root and without
 * downloading anything. CHROMIUM_PATH names another Chromium instead; on a platform the
 * package does not cover, a Chromium on PATH is used, and without one the error says how
 * to get one. Never a silent skip: a test that needs a browser fails without one.
 */

export interface ChromiumBinary {
  executablePath: string;
  /** Where it came from, for the progress line. */
  origin: string;
  /** Extra environment for the browser process (the package's libraries, where the machine lacks them). */
  env?: Record<string, string>;
}

// Without these, Chromium reaches out to Google's services at start, which a closed network refuses.
const QUIET_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let found: ChromiumBinary | undefined;

/** Finds (and the first time on a machine, inflates) the Chromium the UI tests drive. */
export function testChromium(log: (line: string) => void = (line) => process.stderr.write(`    [test browser] ${line}\n`)): ChromiumBinary {
  found ??= locate(log);
  return found;
}

/** A headless Chromium for one test file; close it in `after`. */
export async function launchTestBrowser(): Promise<Browser> {
  const binary = testChromium();
  try {
    return await chromium.launch({
      executablePath: binary.executablePath,
      args: QUIET_ARGS,
      ...(binary.env ? { env: { ...process.env, ...binary.env } } : {}),
    });
  } catch (err) {
    throw new Error(
      `Cannot start the test browser ${binary.executablePath} (${binary.origin}): ${(err as Error).message}\nSet CHROMIUM_PATH to a working Chromium to use another.`,
    );
  }
}

function locate(log: (line: string) => void): ChromiumBinary {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv))
      throw new Error(
        `CHROMIUM_PATH is ${fromEnv}, which is not an executable file. Unset it to use the Chromium that npm install brings, or point it at a Chromium.`,
      );
    return { executablePath: fromEnv, origin: 'CHROMIUM_PATH' };
  }
  const packaged = packagedChromium();
  if (platform() === 'linux' && arch() === 'x64' && packaged) return inflate(packaged, log);
  const installed = ['chromium', 'chromium-browser', 'google-chrome'].map(onPath).find((p) => p !== undefined);
  if (installed) return { executablePath: installed, origin: 'PATH' };
  throw new Error(
    `No Chromium for the UI tests: ${packaged ? `the one npm installs (@sparticuz/chromium) is built for linux-x64, this is ${platform()}-${arch()}` : '@sparticuz/chromium is not installed (run npm install)'}, ` +
      'and none is on PATH. Install one (e.g. apt-get install chromium) or set CHROMIUM_PATH to one.',
  );
}

/** The installed package's folder and version, or undefined if npm did not install it. */
function packagedChromium(): { dir: string; version: string } | undefined {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve('@sparticuz/chromium'));
  } catch {
    return undefined;
  }
  // The entry is <package>/build/index.js.
  const dir = dirname(dirname(entry));
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  return { dir, version };
}

/** Inflates the packaged browser into the cache once; every later call finds it there. */
function inflate(pkg: { dir: string; version: string }, log: (line: string) => void): ChromiumBinary {
  const target = join(loadConfig().cacheDir, `chromium-${pkg.version}`);
  const executablePath = join(target, 'chromium');
  if (!existsSync(executablePath)) {
    log(`inflating the Chromium ${pkg.version} that npm installed (@sparticuz/chromium) into ${target}, once per machine`);
    const started = Date.now();
    // Built aside and renamed into place, so a run that dies half-way leaves nothing half-made.
    const building = `${target}.partial-${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    const bin = join(pkg.dir, 'bin');
    writeFileSync(join(building, 'chromium'), brotliDecompressSync(readFileSync(join(bin, 'chromium.br'))), { mode: 0o755 });
    // GL libraries Chromium loads from its own folder, and NSS/expat for machines without them.
    untar(join(bin, 'swiftshader.tar.br'), building);
    untar(join(bin, 'al2023.tar.br'), building);
    try {
      renameSync(building, target);
    } catch (err) {
      // Another test run got there first: its copy is as good as ours.
      rmSync(building, { recursive: true, force: true });
      if (!existsSync(executablePath)) throw err;
    }
    log(`inflated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  const libs = join(target, 'lib');
  return {
    executablePath,
    origin: `@sparticuz/chromium ${pkg.version}`,
    ...(missingLibraries(executablePath) ? { env: { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } } : {}),
  };
}

function untar(archive: string, into: string): void {
  const result = spawnSync('tar', ['-x', '-C', into], { input: brotliDecompressSync(readFileSync(archive)) });
  if (result.status !== 0) throw new Error(`could not unpack ${archive}: tar ${result.error?.message ?? `exited ${result.status}: ${result.stderr}`}`);
}

/** Whether the machine lacks a shared library the browser needs (ldd says "not found"). */
function missingLibraries(executable: string): boolean {
  const ldd = spawnSync('ldd', [executable], { encoding: 'utf8' });
  return ldd.status === 0 && /not found/.test(ldd.stdout);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
