/** KServe v2 datatypes and how each is stored in memory. */
import type { BytesData } from './bytes-data';

export type DataType =
  | 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64'
  | 'INT8' | 'INT16' | 'INT32' | 'INT64'
  | 'FP16' | 'FP32' | 'FP64' | 'BF16' | 'BYTES';

export type FixedTypedArray =
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Float32Array | Float64Array;

/** Tensor contents: a typed array for fixed-size types, BytesData (one buffer, Triton's serialised form) for BYTES. */
export type TensorData = FixedTypedArray | BytesData;

type TypedArrayConstructor = {
  new (length: number): FixedTypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): FixedTypedArray;
  readonly BYTES_PER_ELEMENT: number;
};

export interface DataTypeInfo {
  /** Bytes per element; 0 for BYTES (variable length). */
  readonly byteSize: number;
  /** Typed array used in memory, null for BYTES. BOOL is one byte per element, FP16/BF16 are raw 16-bit words. */
  readonly arrayType: TypedArrayConstructor | null;
  /** onnxruntime-node's name for the type, null when ORT cannot run it from JavaScript. */
  readonly ortType: string | null;
  /** Elements are bigint in JavaScript. */
  readonly isBigInt: boolean;
}

export const DATATYPES: Readonly<Record<DataType, DataTypeInfo>> = {
  BOOL: { byteSize: 1, arrayType: Uint8Array, ortType: 'bool', isBigInt: false },
  UINT8: { byteSize: 1, arrayType: Uint8Array, ortType: 'uint8', isBigInt: false },
  UINT16: { byteSize: 2, arrayType: Uint16Array, ortType: 'uint16', isBigInt: false },
  UINT32: { byteSize: 4, arrayType: Uint32Array, ortType: 'uint32', isBigInt: false },
  UINT64: { byteSize: 8, arrayType: BigUint64Array, ortType: 'uint64', isBigInt: true },
  INT8: { byteSize: 1, arrayType: Int8Array, ortType: 'int8', isBigInt: false },
  INT16: { byteSize: 2, arrayType: Int16Array, ortType: 'int16', isBigInt: false },
  INT32: { byteSize: 4, arrayType: Int32Array, ortType: 'int32', isBigInt: false },
  INT64: { byteSize: 8, arrayType: BigInt64Array, ortType: 'int64', isBigInt: true },
  FP16: { byteSize: 2, arrayType: Uint16Array, ortType: 'float16', isBigInt: false },
  FP32: { byteSize: 4, arrayType: Float32Array, ortType: 'float32', isBigInt: false },
  FP64: { byteSize: 8, arrayType: Float64Array, ortType: 'float64', isBigInt: false },
  // onnxruntime-node has no bfloat16 tensor type in JavaScript: requests for it are refused with a clear error.
  BF16: { byteSize: 2, arrayType: Uint16Array, ortType: null, isBigInt: false },
  BYTES: { byteSize: 0, arrayType: null, ortType: 'string', isBigInt: false },
};

export function isDataType(value: unknown): value is DataType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DATATYPES, value);
}

const BY_ORT_TYPE = new Map<string, DataType>(
  (Object.entries(DATATYPES) as [DataType, DataTypeInfo][])
    .filter(([, info]) => info.ortType !== null)
    .map(([name, info]) => [info.ortType!, name]),
);

/** ORT type name → KServe datatype. */
export function dataTypeFromOrt(ortType: string): DataType | undefined {
  return BY_ORT_TYPE.get(ortType);
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}
