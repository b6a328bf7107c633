/**
 * Tensor data ↔ the two gRPC encodings: typed `InferTensorContents` fields and raw little-endian bytes
 * (`raw_input_contents` / `raw_output_contents`). Pure functions shared by the server frontend and the client.
 */
import { DataType, FixedTypedArray, TensorData } from '../../core/datatypes';
import { Errors } from '../../core/errors';
import { BytesData, bytesOfTypedArray, isBytesData, serializeBytesElements } from '../../core/tensor';
import type { InferTensorContentsMessage, Int64 } from './messages';

export type ContentsField = keyof InferTensorContentsMessage;

/** The typed contents field of each datatype; FP16 and BF16 have none (raw only). */
export const CONTENTS_FIELD: Readonly<Record<DataType, ContentsField | undefined>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
  FP16: undefined,
  BF16: undefined,
};

const ALL_FIELDS: readonly ContentsField[] = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents',
];

/** Whether any contents field holds elements. */
export function hasContents(contents: InferTensorContentsMessage | null | undefined): boolean {
  if (!contents) return false;
  for (const field of ALL_FIELDS) {
    const values = contents[field];
    if (values && values.length > 0) return true;
  }
  return false;
}

function toBigInt(value: Int64 | bigint): bigint {
  return typeof value === 'bigint' ? value : BigInt(value);
}

/**
 * Typed contents → in-memory data. Checks that only the datatype's field is used; the element count is checked by
 * the caller against the shape.
 */
export function dataFromContents(name: string, datatype: DataType, contents: InferTensorContentsMessage): TensorData {
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) throw Errors.contentsNoTypedField(name, datatype);
  for (const other of ALL_FIELDS) {
    if (other !== field && (contents[other]?.length ?? 0) > 0) throw Errors.contentsWrongField(name, datatype, field);
  }
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(contents.bool_contents ?? [], (v) => (v ? 1 : 0));
    case 'INT8':
      return Int8Array.from(contents.int_contents ?? []);
    case 'INT16':
      return Int16Array.from(contents.int_contents ?? []);
    case 'INT32':
      return Int32Array.from(contents.int_contents ?? []);
    case 'INT64':
      return BigInt64Array.from(contents.int64_contents ?? [], toBigInt);
    case 'UINT8':
      return Uint8Array.from(contents.uint_contents ?? []);
    case 'UINT16':
      return Uint16Array.from(contents.uint_contents ?? []);
    case 'UINT32':
      return Uint32Array.from(contents.uint_contents ?? []);
    case 'UINT64':
      return BigUint64Array.from(contents.uint64_contents ?? [], toBigInt);
    case 'FP32':
      return Float32Array.from(contents.fp32_contents ?? []);
    case 'FP64':
      return Float64Array.from(contents.fp64_contents ?? []);
    case 'BYTES':
      return BytesData.fromElements(contents.bytes_contents ?? []);
    default:
      throw Errors.contentsNoTypedField(name, datatype);
  }
}

/** A Buffer view of bytes (no copy): protobufjs writes Buffers fastest. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** In-memory data → raw bytes (a view for fixed-size types; BYTES elements length-prefixed). */
export function rawFromData(data: TensorData | readonly Uint8Array[]): Buffer {
  if (Array.isArray(data)) return asBuffer(serializeBytesElements(data));
  return asBuffer(isBytesData(data as TensorData) ? (data as BytesData).serialized : bytesOfTypedArray(data as FixedTypedArray));
}

