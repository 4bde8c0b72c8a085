import { readFileSync } from 'node:fs';

/*
 * The kernels of models/wasm/ (WebAssembly, 128-bit SIMD on float32): the loops `implicit`
 * and numpy run in BLAS, at a few times the speed of the same loops in JavaScript. They work
 * on one shared WebAssembly memory that holds a fit's arrays (a KernelArena): every training
 * thread instantiates the module over the same memory, so the threads read and write the
 * same arrays, as with SharedArrayBuffers.
 */

export interface AlsKernel {
  solveRows(
    target: number,
    fixed: number,
    f: number,
    gram: number,
    offsets: number,
    cols: number,
    counts: number,
    alpha: number,
    steps: number,
    from: number,
    to: number,
    scratch: number,
  ): void;
  gramRows(factors: number, nRows: number, f: number, regularization: number, gram: number, from: number, to: number): void;
  mirror(gram: number, f: number): void;
  foldIn(items: number, f: number, gram: number, cols: number, counts: number, n: number, alpha: number, a: number, b: number, x: number): void;
  scoreAll(items: number, nItems: number, f: number, x: number, out: number): void;
}

export interface EaseKernel {
  extract(matrix: number, n: number, blockT: number, k0: number, kb: number, part: number, parts: number): void;
  sweep(matrix: number, n: number, blockT: number, inverse: number, k0: number, kb: number, part: number, parts: number, scratch: number, w: number): void;
  weights(matrix: number, n: number, diagonal: number, part: number, parts: number): void;
}

const compiled = new Map<string, WebAssembly.Module>();

/** A module's exports over `memory`; each module is compiled once per thread, instantiated per call (microseconds). */
function instantiate(name: string, memory: WebAssembly.Memory): unknown {
  let module = compiled.get(name);
  if (!module) compiled.set(name, (module = new WebAssembly.Module(readFileSync(new URL(`./wasm/${name}.wasm`, import.meta.url)))));
  return new WebAssembly.Instance(module, { env: { memory } }).exports;
}

export const alsKernel = (memory: WebAssembly.Memory) => instantiate('als', memory) as AlsKernel;
export const easeKernel = (memory: WebAssembly.Memory) => instantiate('ease', memory) as EaseKernel;

const PAGE = 65536;
/** WebAssembly memories (32-bit addresses) end at 4 GiB. */
const MAX_PAGES = 65536;
/** The module's own first page (its stack and data, none of which it uses): arrays start after it. */
const RESERVED = PAGE;

/**
 * Typed arrays laid out in one shared WebAssembly memory, 16-byte aligned. Plan every
 * array first (`f32`/`i32` with a length), then `open()` allocates the memory and gives
 * the views and their byte addresses.
 */
export class KernelArena {
  private readonly plan: { kind: 'f32' | 'i32'; length: number; at: number }[] = [];
  private end = RESERVED;

  /** Reserves a Float32Array of `length`; returns its slot. */
  f32(length: number): number {
    return this.reserve('f32', length);
  }

  /** Reserves an Int32Array of `length`; returns its slot. */
  i32(length: number): number {
    return this.reserve('i32', length);
  }

  open(what: string): OpenArena {
    const pages = Math.ceil(this.end / PAGE);
    if (pages > MAX_PAGES)
      throw new Error(`${what} needs ${(this.end / 2 ** 30).toFixed(1)} GiB of factors and listens in one WebAssembly memory, which holds at most 4 GiB`);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    return new OpenArena(
      memory,
      this.plan.map((p) => (p.kind === 'f32' ? new Float32Array(memory.buffer, p.at, p.length) : new Int32Array(memory.buffer, p.at, p.length))),
    );
  }

  private reserve(kind: 'f32' | 'i32', length: number): number {
    this.plan.push({ kind, length, at: this.end });
    this.end += Math.ceil((length * 4) / 16) * 16;
    return this.plan.length - 1;
  }
}

export class OpenArena {
  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly views: (Float32Array | Int32Array)[],
  ) {}

  f32(slot: number): Float32Array {
    return this.views[slot] as Float32Array;
  }

  i32(slot: number): Int32Array {
    return this.views[slot] as Int32Array;
  }

  /** The byte address the kernels take for a slot. */
  address(slot: number): number {
    return (this.views[slot] as Float32Array | Int32Array).byteOffset;
  }
}
