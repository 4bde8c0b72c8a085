import { createHash } from 'node:crypto';
import { type RecommenderModel } from './types.js';
import { MODEL_FAMILIES, type ModelFamily } from '../contracts/names.js';

/*
 * A model as bytes: "MVXM1\n", a JSON header line, then each typed array's bytes, each
 * starting on an 8-byte boundary. Decoding copies the arrays into SharedArrayBuffers, so
 * scoring threads share one copy of the model instead of one each.
 */

const MAGIC = 'MVXM1\n';
const ARRAYS = ['itemIds', 'popularity', 'neighborOffsets', 'neighbors', 'similarities', 'itemFactors', 'weights'] as const;
type ArrayName = (typeof ARRAYS)[number];
const TYPES = { Float64Array, Float32Array, Int32Array } as const;
type TypeName = keyof typeof TYPES;

interface Header {
  family: ModelFamily;
  params: Record<string, number | string>;
  arrays: { name: ArrayName; type: TypeName; length: number }[];
}

export function encodeModel(model: RecommenderModel): Buffer {
  const present = ARRAYS.filter((name) => model[name] !== undefined);
  const header: Header = {
    family: model.family,
    params: model.params,
    arrays: present.map((name) => ({ name, type: model[name]!.constructor.name as TypeName, length: model[name]!.length })),
  };
  const head = Buffer.from(`${MAGIC}${JSON.stringify(header)}\n`);
  const parts: Buffer[] = [head];
  let size = head.length;
  for (const name of present) {
    const pad = (8 - (size % 8)) % 8;
    parts.push(Buffer.alloc(pad));
    const array = model[name]!;
    parts.push(Buffer.from(array.buffer, array.byteOffset, array.byteLength));
    size += pad + array.byteLength;
  }
  return Buffer.concat(parts, size);
}

export function decodeModel(bytes: Buffer): RecommenderModel {
  if (bytes.subarray(0, MAGIC.length).toString() !== MAGIC) throw new Error('not a model artifact (bad magic)');
  const end = bytes.indexOf(0x0a, MAGIC.length);
  if (end < 0) throw new Error('model artifact: header not terminated');
  const header = JSON.parse(bytes.subarray(MAGIC.length, end).toString()) as Header;
  if (!MODEL_FAMILIES.includes(header.family)) throw new Error(`model artifact: unknown family ${String(header.family)}`);
  let at = end + 1;
  const model: Record<string, unknown> = { family: header.family, params: header.params };
  for (const a of header.arrays) {
    if (!ARRAYS.includes(a.name) || !(a.type in TYPES)) throw new Error(`model artifact: unknown array ${a.name}:${a.type}`);
    at += (8 - (at % 8)) % 8;
    const byteLength = a.length * TYPES[a.type].BYTES_PER_ELEMENT;
    if (at + byteLength > bytes.length) throw new Error(`model artifact: truncated in ${a.name}`);
    const buffer = new SharedArrayBuffer(byteLength);
    new Uint8Array(buffer).set(bytes.subarray(at, at + byteLength));
    model[a.name] = a.type === 'Float64Array' ? new Float64Array(buffer) : a.type === 'Float32Array' ? new Float32Array(buffer) : new Int32Array(buffer);
    at += byteLength;
  }
  checkShape(model as Partial<RecommenderModel> & Pick<RecommenderModel, 'family' | 'params'>);
  return model as unknown as RecommenderModel;
}

/** Each family's arrays are there, with the lengths its scoring reads. */
function checkShape(model: Partial<RecommenderModel> & Pick<RecommenderModel, 'family' | 'params'>): void {
  if (!model.itemIds || !model.popularity) throw new Error('model artifact: itemIds or popularity missing');
  const items = model.itemIds.length;
  if (model.popularity.length !== items) throw new Error(`model artifact: ${model.popularity.length} popularity values for ${items} items`);
  if ((model.family === 'item-knn' || model.family === 'rp3beta') && !(model.neighborOffsets && model.neighbors && model.similarities))
    throw new Error(`model artifact: ${model.family} without neighbours`);
  if (model.family === 'als') {
    const factors = model.params.factors;
    if (typeof factors !== 'number' || !Number.isInteger(factors) || factors < 1)
      throw new Error(`model artifact: als without a valid factors parameter (${String(factors)})`);
    if (model.itemFactors?.length !== items * factors)
      throw new Error(`model artifact: als itemFactors must hold items x factors = ${items} x ${factors} values, got ${model.itemFactors?.length ?? 'none'}`);
  }
  if (model.family === 'ease' && model.weights?.length !== items * items) {
    throw new Error(`model artifact: ease weights must hold items² = ${items}² values, got ${model.weights?.length ?? 'none'}`);
  }
}

/** A short content hash: the same model gives the same hash. */
export function modelDigest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}
