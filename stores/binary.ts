import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Binary } from 'mongodb';

type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;
type TypedArrayClass<T extends TypedArray> = { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number };

/** A typed array as a BSON Binary (its bytes, little-endian as every supported CPU). */
export function toBinary(array: TypedArray): Binary {
  return new Binary(Buffer.from(array.buffer, array.byteOffset, array.byteLength));
}

/** BSON's first user-defined subtype: the bytes are raw-deflated (packedBinary). */
const PACKED = 0x80;

/**
 * A typed array as a BSON Binary of its deflated bytes, for large arrays that repeat
 * themselves (a chunk's lists: explanations that are mostly "none", scores of the same
 * popular tracks): FerretDB stores every byte as base64 text, so fewer bytes are cheaper
 * to write and to read back. fromBinary reads both kinds.
 */
export function packedBinary(array: TypedArray): Binary {
  return new Binary(deflateRawSync(Buffer.from(array.buffer, array.byteOffset, array.byteLength), { level: 1 }), PACKED);
}

/** A typed array copied out of a BSON Binary (copied: the driver's buffer may be unaligned), inflated if packed. */
export function fromBinary<T extends TypedArray>(binary: Binary, Type: TypedArrayClass<T>): T {
  const bytes = binary.sub_type === PACKED ? inflateRawSync(binary.buffer) : binary.buffer;
  if (bytes.byteLength % Type.BYTES_PER_ELEMENT !== 0)
    throw new Error(`binary of ${bytes.byteLength} bytes is not a whole number of ${Type.BYTES_PER_ELEMENT}-byte values`);
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return new Type(copy);
}

/** The same, into a SharedArrayBuffer that scoring threads can read without a copy. */
export function sharedFromBinary(binary: Binary): Uint8Array {
  const shared = new Uint8Array(new SharedArrayBuffer(binary.buffer.byteLength));
  shared.set(binary.buffer);
  return shared;
}
