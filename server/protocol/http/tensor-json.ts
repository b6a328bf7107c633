/**
 * Tensor contents ↔ the `data` arrays of KServe v2 JSON. Decoding validates every element (Triton answers 400 for
 * a wrong type); encoding writes the JSON text directly so numeric typed arrays cost one native join, not a
 * per-element serializer.
 */
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

  switch (datatype) {
    case 'BYTES': {
      const elements: Uint8Array[] = new Array<Uint8Array>(values.length);
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (typeof value !== 'string') throw badElement(input, datatype, i, value);
        elements[i] = Buffer.from(value, 'utf8');
      }
      return elements;
    }
    case 'BOOL': {
      const out = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (typeof value !== 'boolean') throw badElement(input, datatype, i, value);
        out[i] = value ? 1 : 0;
      }
      return out;
    }
    case 'INT64':
    case 'UINT64':
      return bigIntegersFromJson(input, datatype, values);
    case 'FP16': {
      const out = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (typeof value !== 'number') throw badElement(input, datatype, i, value);
        out[i] = float16BitsFromNumber(value);
      }
      return out;
    }
    case 'FP32':
    case 'FP64': {
      const out = new (DATATYPES[datatype].arrayType as Float32ArrayConstructor | Float64ArrayConstructor)(values.length);
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (typeof value !== 'number') throw badElement(input, datatype, i, value);
        out[i] = value;
      }
      return out;
    }
    default: {
      const [min, max] = INTEGER_RANGES[datatype];
      const ArrayType = DATATYPES[datatype].arrayType as new (length: number) => Exclude<
        FixedTypedArray,
        BigInt64Array | BigUint64Array
      >;
      const out = new ArrayType(values.length);
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
          throw badElement(input, datatype, i, value);
        }
        out[i] = value;
      }
      return out;
    }
  }
}

/** INT64/UINT64 from JSON integers, or decimal strings for values beyond 2^53 that JSON numbers cannot carry. */
function bigIntegersFromJson(input: string, datatype: 'INT64' | 'UINT64', values: readonly unknown[]): TensorData {
  const out = datatype === 'INT64' ? new BigInt64Array(values.length) : new BigUint64Array(values.length);
  const min = datatype === 'INT64' ? INT64_MIN : 0n;
  const max = datatype === 'INT64' ? INT64_MAX : UINT64_MAX;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    let big: bigint;
    if (typeof value === 'number' && Number.isInteger(value)) big = BigInt(value);
    else if (typeof value === 'string' && DECIMAL_INTEGER.test(value)) big = BigInt(value);
    else throw badElement(input, datatype, i, value);
    if (big < min || big > max) throw badElement(input, datatype, i, value);
    out[i] = big;
  }
  return out;
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

/** The JSON text of a tensor's `data` array, brackets included. */
export function tensorDataToJson(datatype: DataType, data: TensorData): string {
  if (Array.isArray(data)) {
    let out = '[';
    for (let i = 0; i < data.length; i++) {
      const element = data[i];
      const text = Buffer.from(element.buffer, element.byteOffset, element.byteLength).toString('utf8');
      out += (i === 0 ? '' : ',') + JSON.stringify(text);
    }
    return `${out}]`;
  }
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
