import { BytesData } from './bytes-data';
import { DATATYPES, DataType, FixedTypedArray, TensorData } from './datatypes';

export { BytesData } from './bytes-data';

/** A named tensor as it travels between frontends, the facade, the scheduler and backends. */
export interface Tensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: number[];
  readonly data: TensorData;
}

export function isBytesData(data: TensorData): data is BytesData {
  return data instanceof BytesData;
}

/** BYTES given either way (a list of elements, as clients and tests write them, or BytesData) as BytesData. */
export function bytesData(data: BytesData | readonly Uint8Array[]): BytesData {
  return data instanceof BytesData ? data : BytesData.fromElements(data);
}

/** The raw bytes of any tensor data: a view of a typed array, BYTES in Triton's serialised form. */
export function rawBytesOf(data: TensorData): Uint8Array {
  return data instanceof BytesData ? data.serialized : bytesOfTypedArray(data);
}

/** Length in elements of the tensor's data. */
export function dataLength(data: TensorData): number {
  return data.length;
}

/** View raw little-endian bytes as the datatype's typed array, copying only when alignment requires it. */
export function typedArrayFromBytes(datatype: DataType, bytes: Uint8Array): FixedTypedArray {
  const info = DATATYPES[datatype];
  if (!info.arrayType) throw new Error(`${datatype} has no fixed-size representation`);
  const count = bytes.byteLength / info.byteSize;
  if (bytes.byteOffset % info.byteSize === 0) {
    return new info.arrayType(bytes.buffer, bytes.byteOffset, count);
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new info.arrayType(copy.buffer, 0, count);
}

/** The raw little-endian bytes of a fixed-size tensor (a view, no copy). */
export function bytesOfTypedArray(array: FixedTypedArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** BYTES elements serialised as Triton does: 4-byte little-endian length, then the bytes. */
export function serializeBytesElements(elements: readonly Uint8Array[]): Uint8Array {
  return BytesData.fromElements(elements).serialized;
}

/** Parse Triton's serialised BYTES; returns undefined when the framing is inconsistent. */
export function deserializeBytesElements(bytes: Uint8Array): Uint8Array[] | undefined {
  return BytesData.fromSerialized(bytes)?.toArray();
}
