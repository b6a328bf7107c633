import { DATATYPES, DataType, FixedTypedArray, TensorData } from './datatypes';

/** A named tensor as it travels between frontends, the facade, the scheduler and backends. */
export interface Tensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: number[];
  readonly data: TensorData;
}

export function isBytesData(data: TensorData): data is Uint8Array[] {
  return Array.isArray(data);
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
  let total = 0;
  for (const element of elements) total += 4 + element.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const element of elements) {
    view.setUint32(offset, element.byteLength, true);
    out.set(element, offset + 4);
    offset += 4 + element.byteLength;
  }
  return out;
}

/** Parse Triton's serialised BYTES; returns undefined when the framing is inconsistent. */
export function deserializeBytesElements(bytes: Uint8Array): Uint8Array[] | undefined {
  const elements: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (offset + 4 > bytes.byteLength) return undefined;
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > bytes.byteLength) return undefined;
    elements.push(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return elements;
}
