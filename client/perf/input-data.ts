/**
 * perf_analyzer's --input-data=<file.json>: `{"data": [...]}` where each entry gives every input of one batch-1
 * request, as a flat array (row-major), `{"b64": ...}` (little-endian raw bytes; BYTES elements length-prefixed), or
 * `{"content": ..., "shape": [...]}` for variable dimensions. `data` may instead hold arrays of entries: one stream
 * per sequence (a stateful model plays a stream back on one correlation id). Several files append their streams.
 */
import { readFileSync } from 'node:fs';
import { DATATYPES, DataType, elementCount, isDataType } from '../../server/core/datatypes';
import type { ModelMetadata } from '../api';
import { InferInput } from '../tensor';

/** One input of one step as the file gives it. */
interface RawTensor {
  readonly content: unknown;
  readonly shape?: number[];
}

/** A step: one request's inputs by name. */
export type DataStep = ReadonlyMap<string, RawTensor>;
/** Steps played in order (round-robin for stateless models, one sequence for stateful ones). */
export type DataStream = readonly DataStep[];

export class InputDataError extends Error {}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function parseStep(entry: unknown, where: string): DataStep {
  if (!isRecord(entry)) throw new InputDataError(`${where}: expected an object of input name to data`);
  const step = new Map<string, RawTensor>();
  for (const [name, value] of Object.entries(entry)) {
    if (isRecord(value) && 'content' in value) {
      const shape = value.shape;
      if (shape !== undefined && (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0))) {
        throw new InputDataError(`${where}: the shape of input '${name}' must be an array of non-negative integers`);
      }
      step.set(name, { content: value.content, shape: shape as number[] | undefined });
    } else {
      step.set(name, { content: value });
    }
  }
  return step;
}

/** The streams of one parsed JSON document. */
export function parseInputData(document: unknown, source = 'input data'): DataStream[] {
  if (!isRecord(document) || !Array.isArray(document.data)) throw new InputDataError(`${source}: expected {"data": [...]}`);
  const data = document.data as unknown[];
  if (data.length === 0) throw new InputDataError(`${source}: "data" is empty`);
  // Either every entry is a stream (an array of steps) or every entry is a step (one stream).
  if (data.every(Array.isArray)) {
    return data.map((stream, s) => {
      if ((stream as unknown[]).length === 0) throw new InputDataError(`${source}: stream ${s} is empty`);
      return (stream as unknown[]).map((entry, i) => parseStep(entry, `${source}: data[${s}][${i}]`));
    });
  }
  if (data.some(Array.isArray)) throw new InputDataError(`${source}: "data" mixes streams (arrays) and steps (objects)`);
  return [data.map((entry, i) => parseStep(entry, `${source}: data[${i}]`))];
}

export function loadInputDataFiles(files: readonly string[]): DataStream[] {
  return files.flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new InputDataError(`failed to read input data file '${file}': ${(error as Error).message}`);
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new InputDataError(`failed to parse input data file '${file}': ${(error as Error).message}`);
    }
    return parseInputData(document, file);
  });
}

/** BYTES elements from b64 raw bytes: each element a 4-byte little-endian length, then its bytes. */
function bytesElements(raw: Buffer, name: string): Buffer[] {
  const elements: Buffer[] = [];
  for (let offset = 0; offset < raw.length; ) {
    if (offset + 4 > raw.length) throw new InputDataError(`input '${name}': truncated BYTES element length in b64 data`);
    const length = raw.readUInt32LE(offset);
    if (offset + 4 + length > raw.length) throw new InputDataError(`input '${name}': BYTES element runs past the end of the b64 data`);
    elements.push(raw.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return elements;
}

/** The elements of one batch-1 tensor: Buffers for BYTES, else a typed array of the datatype. */
function decodeContent(name: string, datatype: DataType, content: unknown): InferInput['data'] {
  if (isRecord(content) && typeof content.b64 === 'string') {
    const raw = Buffer.from(content.b64, 'base64');
    if (datatype === 'BYTES') return bytesElements(raw, name);
    const info = DATATYPES[datatype];
    if (raw.length % info.byteSize !== 0) throw new InputDataError(`input '${name}': ${raw.length} b64 bytes are not a whole number of ${datatype} elements`);
    const copy = new Uint8Array(raw); // aligned for the typed array
    return new info.arrayType!(copy.buffer, 0, raw.length / info.byteSize);
  }
  if (!Array.isArray(content)) throw new InputDataError(`input '${name}': expected an array, {"b64": ...} or {"content": ..., "shape": ...}`);
  const flat = (content as unknown[]).flat(Infinity);
  if (datatype === 'BYTES') {
    return flat.map((v) => {
      if (typeof v !== 'string') throw new InputDataError(`input '${name}': BYTES data must be strings`);
      return Buffer.from(v, 'utf8');
    });
  }
  const info = DATATYPES[datatype];
  const array = new info.arrayType!(flat.length);
  flat.forEach((v, i) => {
    const value = typeof v === 'boolean' ? Number(v) : v;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new InputDataError(`input '${name}': element ${i} is not a number`);
    if (array instanceof BigInt64Array || array instanceof BigUint64Array) {
      if (!Number.isSafeInteger(value)) throw new InputDataError(`input '${name}': element ${i} is not an integer`);
      array[i] = BigInt(value);
    } else {
      array[i] = value;
    }
  });
  return array;
}

/** `batchSize` copies of a batch-1 tensor's elements, back to back. */
function repeatBatch(data: InferInput['data'], batchSize: number): InferInput['data'] {
  if (batchSize === 1) return data;
  if (Array.isArray(data)) return Array.from({ length: batchSize }, () => data).flat();
  const typed = data as Exclude<InferInput['data'], unknown[]>;
  const Ctor = typed.constructor as new (n: number) => typeof typed;
  const out = new Ctor(typed.length * batchSize);
  for (let b = 0; b < batchSize; b++) (out as { set(a: ArrayLike<unknown>, o: number): void }).set(typed, b * typed.length);
  return out;
}

/**
 * The request inputs of one step: shape from the step, else --shape, else the model's (batch dimension = batch
 * size); the element count must match the shape. An optional input the step leaves out is not sent.
 */
export function inputsForStep(
  metadata: ModelMetadata,
  maxBatchSize: number,
  batchSize: number,
  shapes: ReadonlyMap<string, number[]>,
  step: DataStep,
  optional: ReadonlySet<string>,
): InferInput[] {
  for (const name of step.keys()) {
    if (!metadata.inputs.some((input) => input.name === name)) throw new InputDataError(`input data names '${name}', which is not an input of model '${metadata.name}'`);
  }
  const inputs: InferInput[] = [];
  for (const input of metadata.inputs) {
    const tensor = step.get(input.name);
    if (!tensor) {
      if (optional.has(input.name)) continue;
      throw new InputDataError(`input data has no data for input '${input.name}'`);
    }
    if (!isDataType(input.datatype)) throw new InputDataError(`input '${input.name}' has unknown datatype ${input.datatype}`);
    const modelDims = maxBatchSize > 0 ? input.shape.slice(1) : [...input.shape];
    const data = decodeContent(input.name, input.datatype, tensor.content);
    let dims = tensor.shape ?? shapes.get(input.name) ?? modelDims;
    // A variable dimension with no shape given: the only one takes what the data holds, as a 1-D tensor would.
    if (dims.some((d) => d < 0)) {
      const variable = dims.filter((d) => d < 0).length;
      const fixed = elementCount(dims.map((d) => (d < 0 ? 1 : d)));
      if (variable !== 1 || fixed === 0 || data.length % fixed !== 0) {
        throw new InputDataError(`input '${input.name}' has variable dimensions ${JSON.stringify(modelDims)}: give its "shape" in the data or --shape`);
      }
      dims = dims.map((d) => (d < 0 ? data.length / fixed : d));
    }
    const expected = elementCount(dims);
    if (data.length !== expected) {
      throw new InputDataError(`input '${input.name}': the data has ${data.length} elements, shape ${JSON.stringify(dims)} needs ${expected}`);
    }
    const shape = maxBatchSize > 0 ? [batchSize, ...dims] : dims;
    inputs.push(new InferInput(input.name, input.datatype, shape, repeatBatch(data, maxBatchSize > 0 ? batchSize : 1)));
  }
  return inputs;
}
