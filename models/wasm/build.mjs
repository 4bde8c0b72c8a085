// Compiles the AssemblyScript kernels of this folder to WebAssembly in dist/models/wasm/
// (run by `npm run build`, after tsc). AssemblyScript is a dev dependency: the built
// .wasm files are what the worker and the CLI load.
import { mkdirSync } from 'node:fs';
import asc from 'assemblyscript/asc';

const here = new URL('.', import.meta.url);
const out = new URL('../../dist/models/wasm/', import.meta.url);
mkdirSync(out, { recursive: true });
for (const kernel of ['als', 'ease']) {
  const { error, stderr } = await asc.main([
    new URL(`${kernel}.ts`, here).pathname,
    '--outFile', new URL(`${kernel}.wasm`, out).pathname,
    // Speed over size; no bounds assertions (the callers pass addresses they laid out).
    '-O3', '--noAssert',
    // No allocator, no GC: the kernels only read and write the memory they are given.
    '--runtime', 'stub',
    // One memory shared by every training thread, given by the caller (up to 4 GiB).
    '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536', '--noExportMemory',
    '--enable', 'simd,threads',
  ]);
  if (error) {
    console.error(stderr.toString());
    throw new Error(`models/wasm/${kernel}.ts did not compile: ${error.message}`);
  }
}
