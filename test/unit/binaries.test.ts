import { expect } from 'chai';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../config/paths.js';
import { ensureFerretdb, ensureTemporal, ferretdbBuildKey } from '../../stack/binaries.js';

describe('server binaries', () => {
  let cache: string;
  let path: string | undefined;
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), 'moovitamix-cache-'));
    path = process.env.PATH;
  });
  afterEach(() => {
    process.env.PATH = path;
    rmSync(cache, { recursive: true, force: true });
  });

  it('without Go, nor temporal or mongod on PATH, say how else to get the servers', async () => {
    process.env.PATH = join(cache, 'empty');
    for (const ensure of [ensureTemporal, ensureFerretdb]) {
      try {
        await ensure(cache, () => {});
        expect.fail('should throw');
      } catch (err) {
        const message = (err as Error).message;
        expect(message).to.include('Go is not on PATH');
        expect(message).to.include('https://go.dev/dl/');
        expect(message).to.include('TEMPORAL_ADDRESS and MONGODB_URI');
        expect(message).to.include('docker compose up');
      }
    }
  });

  it('key the FerretDB build by its pinned version and the hash of its sources and patches', () => {
    expect(ferretdbBuildKey()).to.match(/^v1\.24\.2-[0-9a-f]{12}$/);
    const copy = join(cache, 'ferretdb');
    cpSync(join(projectRoot, 'stack', 'ferretdb'), copy, { recursive: true });
    expect(ferretdbBuildKey(copy), 'same sources, same key').to.equal(ferretdbBuildKey());
    for (const file of ['main.go', 'patches.json', 'go.mod']) {
      const changed = join(cache, `changed-${file}`);
      cpSync(copy, changed, { recursive: true });
      appendFileSync(join(changed, file), '\n');
      expect(ferretdbBuildKey(changed), `a change to ${file} rebuilds`).not.to.equal(ferretdbBuildKey());
    }
  });
});
