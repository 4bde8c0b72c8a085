type Numeric = Float64Array | Int32Array | Uint8Array;

/** An append-only typed array: millions of numbers without millions of JS objects. */
export class Growable<T extends Numeric> {
  private data: T;
  length = 0;

  constructor(
    private readonly make: (size: number) => T,
    initial = 1024,
  ) {
    this.data = make(initial);
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data as never);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  get(index: number): number {
    return this.data[index] as number;
  }

  /** The values pushed so far (a view, not a copy). */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}
