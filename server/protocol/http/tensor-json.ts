/**
 * Tensor contents ↔ the `data` arrays of KServe v2 JSON. Decoding validates every element (Triton answers 400 for
 * a wrong type); encoding writes the JSON text directly so numeric typed arrays cost one native join, not a
 * per-element serializer.
 */
import { BytesBuilder, BytesData } from '../../core/bytes-data';
import { DATATYPES, DataType, FixedTypedArray, TensorData } from '../../core/datatypes';
import { Errors } from '../../core/errors';
import { float16BitsFromNumber, numberFromBfloat16Bits, numberFromFloat16Bits } from './float16';

/** Triton's HTTP_MAX_JSON_NESTING_DEPTH: `data` nested deeper is refused with its message. */
const MAX_NESTING = 100;

type IntegerDataType = 'INT8' | 'INT16' | 'INT32' | 'UINT8' | 'UINT16' | 'UINT32';

const INTEGER_RANGES: Readonly<Record<IntegerDataType, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const DECIMAL_INTEGER = /^-?\d{1,20}$/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 32 ? `${value.slice(0, 32)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** The JSON type TritonJson reads a datatype's elements as (its error messages name it). */
function jsonKind(datatype: DataType): 'string' | 'boolean' | 'signed-integer' | 'unsigned-integer' | 'number' {
  if (datatype === 'BYTES') return 'string';
  if (datatype === 'BOOL') return 'boolean';
  if (datatype.startsWith('FP') || datatype === 'BF16') return 'number';
  return datatype.startsWith('UINT') ? 'unsigned-integer' : 'signed-integer';
}

function isOfKind(value: unknown, kind: ReturnType<typeof jsonKind>): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number';
    // Decimal strings carry 64-bit integers past 2^53 (see bigIntegersFromJson): such a string is out of range, not mistyped.
    case 'signed-integer':
      return (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && DECIMAL_INTEGER.test(value));
    case 'unsigned-integer':
      return (typeof value === 'number' && Number.isInteger(value) && value >= 0) || (typeof value === 'string' && /^\d+$/.test(value));
  }
}

/** An element of the wrong JSON type gets TritonJson's words; a value out of the datatype's range, ours. */
function badElement(input: string, datatype: DataType, index: number, value: unknown): Error {
  const kind = jsonKind(datatype);
  if (!isOfKind(value, kind)) return Errors.jsonElementType(kind, input);
  return Errors.badTensorData(input, `element ${index} is ${describe(value)}, not a valid ${datatype} value`);
}

/** Leaves of a (possibly nested) data array, in row-major order. */
function flatten(data: readonly unknown[], input: string): unknown[] {
  if (data.length === 0 || !Array.isArray(data[0])) return data as unknown[];
  const leaves: unknown[] = [];
  const visit = (values: readonly unknown[], depth: number): void => {
    // `values` holds the elements at `depth` (the data array itself is depth 0), as Triton counts.
    if (depth >= MAX_NESTING && values.length > 0) throw Errors.jsonNestingTooDeep(MAX_NESTING);
    for (const value of values) {
      if (Array.isArray(value)) visit(value, depth + 1);
      else leaves.push(value);
    }
  };
  visit(data, 1);
  return leaves;
}

/**
 * Decode JSON `data` (flat or nested as the shape) into the datatype's in-memory form.
 * `expectedCount` is the element count the shape implies.
 */
export function tensorDataFromJson(input: string, datatype: DataType, expectedCount: number, data: unknown): TensorData {
  if (!Array.isArray(data)) throw Errors.badTensorData(input, `expected an array, got ${describe(data)}`);
  if (datatype === 'BF16') throw Errors.jsonDatatypeUnsupported(datatype, input);
  const values = flatten(data, input);
  if (values.length !== expectedCount) throw Errors.elementCountMismatch(input, expectedCount, values.length);
  if (datatype in INTEGER_RANGES) return integersFromJson(input, datatype as IntegerDataType, values);
  if (datatype === 'FP32' || datatype === 'FP64') return floatsFromJson(input, datatype, values);
  const writer = elementWriter(input, datatype, expectedCount);
  for (let i = 0; i < values.length; i++) writer.push(values[i]);
  return writer.finish();
}

/**
 * Writes a tensor's JSON elements one at a time straight into its in-memory form, checking each as Triton does (400
 * for a wrong type). Shared by bodies parsed whole and bodies streamed (json-stream.ts), which never hold the
 * elements as JavaScript values.
 */
export interface ElementWriter {
  push(value: unknown): void;
  /** The data; throws the element-count error when the pushes were not `expectedCount`. */
  finish(): TensorData;
}

/**
 * `storable`: elements room is made for, when the shape's count cannot be trusted yet (a streamed body can hold at most
 * one element per two bytes: a shape asking for more gets no allocation, only the count error at finish).
 */
export function elementWriter(input: string, datatype: DataType, expectedCount: number, storable = expectedCount): ElementWriter {
  if (datatype === 'BF16') throw Errors.jsonDatatypeUnsupported(datatype, input);
  const room = Math.min(expectedCount, storable);
  // Hot: called once per element of bodies of millions, so each push checks and stores inline, allocating nothing.
  // Past `room` elements are only counted: the count error comes at finish, with the real count.
  let index = 0;
  const bad = (value: unknown): Error => badElement(input, datatype, index, value);
  const finishWith = (data: TensorData): TensorData => {
    if (index !== expectedCount) throw Errors.elementCountMismatch(input, expectedCount, index);
    return data;
  };

  switch (datatype) {
    case 'BYTES': {
      // One buffer for all elements: millions of strings must not become millions of objects.
      const builder = new BytesBuilder();
      return {
        push: (value) => {
          if (typeof value !== 'string') throw bad(value);
          if (index++ < room) builder.addString(value);
        },
        finish: () => finishWith(builder.finish()),
      };
    }
    case 'BOOL': {
      const out = new Uint8Array(room);
      return {
        push: (value) => {
          if (typeof value !== 'boolean') throw bad(value);
          if (index < room) out[index] = value ? 1 : 0;
          index++;
        },
        finish: () => finishWith(out),
      };
    }
    case 'INT64':
    case 'UINT64': {
      const out = datatype === 'INT64' ? new BigInt64Array(room) : new BigUint64Array(room);
      const min = datatype === 'INT64' ? INT64_MIN : 0n;
      const max = datatype === 'INT64' ? INT64_MAX : UINT64_MAX;
      return {
        push: (value) => {
          const big = bigIntegerOf(value);
          if (big === undefined || big < min || big > max) throw bad(value);
          if (index < room) out[index] = big;
          index++;
        },
        finish: () => finishWith(out),
      };
    }
    case 'FP16': {
      const out = new Uint16Array(room);
      return {
        push: (value) => {
          if (typeof value !== 'number') throw bad(value);
          if (index < room) out[index] = float16BitsFromNumber(value);
          index++;
        },
        finish: () => finishWith(out),
      };
    }
    case 'FP32':
    case 'FP64': {
      const out = datatype === 'FP32' ? new Float32Array(room) : new Float64Array(room);
      return {
        push: (value) => {
          if (typeof value !== 'number') throw bad(value);
          if (index < room) out[index] = value;
          index++;
        },
        finish: () => finishWith(out),
      };
    }
    default: {
      const [min, max] = INTEGER_RANGES[datatype];
      const ArrayType = DATATYPES[datatype].arrayType as new (length: number) => Exclude<FixedTypedArray, BigInt64Array | BigUint64Array>;
      const out = new ArrayType(room);
      return {
        push: (value) => {
          if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw bad(value);
          if (index < room) out[index] = value;
          index++;
        },
        finish: () => finishWith(out),
      };
    }
  }
}

/*
 * The common datatypes of a body parsed whole, without elementWriter's closures per input: the same checks and errors,
 * for the small requests whose allocations are mostly such per-request objects.
 */
function integersFromJson(input: string, datatype: IntegerDataType, values: readonly unknown[]): TensorData {
  const [min, max] = INTEGER_RANGES[datatype];
  const ArrayType = DATATYPES[datatype].arrayType as new (length: number) => Exclude<FixedTypedArray, BigInt64Array | BigUint64Array>;
  const out = new ArrayType(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw badElement(input, datatype, i, value);
    out[i] = value;
  }
  return out;
}

function floatsFromJson(input: string, datatype: 'FP32' | 'FP64', values: readonly unknown[]): TensorData {
  const out = datatype === 'FP32' ? new Float32Array(values.length) : new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== 'number') throw badElement(input, datatype, i, value);
    out[i] = value;
  }
  return out;
}

/** INT64/UINT64 from a JSON integer, or a decimal string for values beyond 2^53 that JSON numbers cannot carry. */
function bigIntegerOf(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) return BigInt(value);
  return undefined;
}

/** A JSON number for a float; JSON has no NaN or Infinity, so those become null (numpy reads null as NaN). */
function floatToJson(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** Join a float array; `join` is native and fast, and its text only holds N or I for NaN/Infinity. */
function floatsToJson(array: Float32Array | Float64Array): string {
  const text = array.join(',');
  if (text.indexOf('N') === -1 && text.indexOf('I') === -1) return text;
  let out = '';
  for (let i = 0; i < array.length; i++) out += (i === 0 ? '' : ',') + floatToJson(array[i]);
  return out;
}

function sixteenBitFloatsToJson(array: Uint16Array, toNumber: (bits: number) => number): string {
  let out = '';
  for (let i = 0; i < array.length; i++) out += (i === 0 ? '' : ',') + floatToJson(toNumber(array[i]));
  return out;
}

/**
 * The JSON of a BYTES `data` array, written from the elements' bytes as Triton's JSON writer does (rapidjson without
 * encoding validation): '"', '\\' and control characters escaped, every other byte as it is. For UTF-8 elements that is
 * JSON.stringify's text; an element that is not UTF-8 keeps its bytes instead of becoming U+FFFD. One buffer, no
 * string per element. Hand-written: JSON libraries write strings, not bytes.
 */
export function bytesDataToJson(data: BytesData): Buffer {
  const source = Buffer.from(data.serialized.buffer, data.serialized.byteOffset, data.serialized.byteLength);
  // Brackets, commas and quotes, plus the bytes; escapes grow it on demand.
  let out = Buffer.allocUnsafe(2 + data.length * 3 + source.length);
  let used = 0;
  const reserve = (extra: number) => {
    if (used + extra <= out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(used + extra, out.length * 2));
    out.copy(grown, 0, 0, used);
    out = grown;
  };
  out[used++] = 0x5b; // [
  data.forEachRange((start, end, index) => {
    reserve(3 + end - start);
    if (index > 0) out[used++] = 0x2c; // ,
    out[used++] = 0x22; // "
    let from = start;
    for (let i = start; i < end; i++) {
      const byte = source[i];
      if (byte >= 0x20 && byte !== 0x22 && byte !== 0x5c) continue;
      const escape = JSON_ESCAPES[byte];
      reserve(i - from + escape.length + 1 + end - i);
      used += source.copy(out, used, from, i);
      used += out.write(escape, used, 'latin1');
      from = i + 1;
    }
    // Short runs byte by byte: Buffer.copy with a range makes a view per call, which for 500,000 two-byte
    // elements was the largest part of this function.
    if (end - from <= 32) {
      for (let i = from; i < end; i++) out[used++] = source[i];
    } else {
      used += source.copy(out, used, from, end);
    }
    out[used++] = 0x22;
  });
  reserve(1);
  out[used++] = 0x5d; // ]
  return out.subarray(0, used);
}

/** JSON's escape of each byte below 0x20, '"' and '\\' (JSON.stringify's forms). */
const JSON_ESCAPES: readonly string[] = Array.from({ length: 0x5d }, (_, byte) => JSON.stringify(String.fromCharCode(byte)).slice(1, -1));

/** The JSON text of a tensor's `data` array, brackets included (BYTES: see bytesDataToJson). */
export function tensorDataToJson(datatype: DataType, data: TensorData): string | Buffer {
  if (data instanceof BytesData) return bytesDataToJson(data);
  switch (datatype) {
    case 'BOOL': {
      let out = '';
      for (let i = 0; i < data.length; i++) out += (i === 0 ? '' : ',') + (data[i] ? 'true' : 'false');
      return `[${out}]`;
    }
    case 'FP16':
      return `[${sixteenBitFloatsToJson(data as Uint16Array, numberFromFloat16Bits)}]`;
    case 'BF16':
      return `[${sixteenBitFloatsToJson(data as Uint16Array, numberFromBfloat16Bits)}]`;
    case 'FP32':
    case 'FP64':
      return `[${floatsToJson(data as Float32Array | Float64Array)}]`;
    default:
      // Integers of every width, 64-bit included (bigint joins as exact decimal text).
      return `[${(data as { join(separator: string): string }).join(',')}]`;
  }
}
