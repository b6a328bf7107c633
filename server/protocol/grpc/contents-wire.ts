/**
 * InferTensorContents decoded from its protobuf wire bytes straight into the tensor's typed array (or BytesData).
 *
 * Hand-written because no library does it: protobufjs decodes repeated (u)int64 into one Long object per element and
 * repeated bytes into one Buffer per element, so an 8 MiB int64_contents became a million objects before the model
 * name was even checked. The server's request deserializer leaves field 5 of InferInputTensor as bytes
 * (`contents_wire`, see infer-wire.ts); the codec calls this after the model and input names are checked. The element
 * count is found and compared with the shape's before anything is allocated. Packed and unpacked encodings are both
 * read, as protobuf parsers must. Typed arrays are little-endian, as the wire is (x86 and Arm servers).
 */
import { BytesData } from '../../core/bytes-data';
import type { DataType, FixedTypedArray, TensorData } from '../../core/datatypes';
import { Errors } from '../../core/errors';
import { CONTENTS_FIELD, ContentsField } from './tensor-contents';

/** Field numbers of InferTensorContents (grpc_service.proto). */
const FIELD_NUMBER: Readonly<Record<ContentsField, number>> = {
  bool_contents: 1,
  int_contents: 2,
  int64_contents: 3,
  uint_contents: 4,
  uint64_contents: 5,
  fp32_contents: 6,
  fp64_contents: 7,
  bytes_contents: 8,
};
const FIELD_NAME = new Map(Object.entries(FIELD_NUMBER).map(([name, number]) => [number, name as ContentsField]));

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** One occurrence of a field: its payload's range and wire type. */
interface Segment {
  readonly wireType: number;
  readonly start: number;
  readonly end: number;
}

function malformed(name: string): Error {
  return Errors.badTensorData(name, 'malformed InferTensorContents');
}

/** Read a varint's low 32 bits at `pos` (high bits are validated and dropped); returns [value, next position]. */
function readVarint32(bytes: Uint8Array, pos: number, name: string): [number, number] {
  let value = 0;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= bytes.length) throw malformed(name);
    const byte = bytes[pos++];
    if (shift < 32) value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value >>> 0, pos];
  }
  throw malformed(name);
}

/** The occurrences of each field, without decoding values. */
function scan(name: string, bytes: Uint8Array): Map<number, Segment[]> {
  const fields = new Map<number, Segment[]>();
  let pos = 0;
  while (pos < bytes.length) {
    let tag: number;
    [tag, pos] = readVarint32(bytes, pos, name);
    const field = tag >>> 3;
    const wireType = tag & 7;
    const start = pos;
    if (wireType === WIRE_VARINT) {
      while (pos < bytes.length && (bytes[pos] & 0x80) !== 0) pos++;
      pos++;
    } else if (wireType === WIRE_FIXED64) {
      pos += 8;
    } else if (wireType === WIRE_FIXED32) {
      pos += 4;
    } else if (wireType === WIRE_LENGTH) {
      let length: number;
      [length, pos] = readVarint32(bytes, pos, name);
      const payload = pos;
      pos += length;
      if (pos > bytes.length) throw malformed(name);
      push(fields, field, { wireType, start: payload, end: pos });
      continue;
    } else {
      throw malformed(name);
    }
    if (pos > bytes.length || field === 0) throw malformed(name);
    push(fields, field, { wireType, start, end: pos });
  }
  return fields;
}

function push(fields: Map<number, Segment[]>, field: number, segment: Segment): void {
  const list = fields.get(field);
  if (list) list.push(segment);
  else fields.set(field, [segment]);
}

/** Elements in a field's segments: packed runs count their varints or fixed-size words. */
function countElements(bytes: Uint8Array, segments: readonly Segment[], field: ContentsField): number {
  let count = 0;
  for (const segment of segments) {
    if (field === 'bytes_contents' || segment.wireType !== WIRE_LENGTH) {
      count++;
    } else if (field === 'fp32_contents') {
      count += (segment.end - segment.start) / 4;
    } else if (field === 'fp64_contents') {
      count += (segment.end - segment.start) / 8;
    } else {
      for (let i = segment.start; i < segment.end; i++) if ((bytes[i] & 0x80) === 0) count++;
    }
  }
  return count;
}

/** Whether the wire bytes hold any element (what hasContents says of a decoded message). */
export function contentsWireHasElements(name: string, bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  for (const [number, segments] of scan(name, bytes)) {
    const field = FIELD_NAME.get(number);
    if (field && countElements(bytes, segments, field) > 0) return true;
  }
  return false;
}

/** Decode the datatype's contents field into its in-memory form, checking fields and the element count first. */
export function dataFromContentsWire(name: string, datatype: DataType, expectedCount: number, bytes: Uint8Array): TensorData {
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) throw Errors.contentsNoTypedField(name, datatype);
  const fields = scan(name, bytes);
  for (const [number, segments] of fields) {
    const other = FIELD_NAME.get(number);
    if (other && other !== field && countElements(bytes, segments, other) > 0) throw Errors.contentsWrongField(name, datatype, field);
  }
  const segments = fields.get(FIELD_NUMBER[field]) ?? [];
  const count = countElements(bytes, segments, field);
  if (!Number.isInteger(count)) throw malformed(name);
  if (count !== expectedCount) throw Errors.elementCountMismatch(name, expectedCount, count);

  switch (field) {
    case 'bytes_contents':
      return bytesElements(bytes, segments, count);
    case 'fp32_contents':
    case 'fp64_contents':
      return fixedWidth(name, bytes, segments, count, field === 'fp32_contents' ? new Float32Array(count) : new Float64Array(count));
    case 'int64_contents':
    case 'uint64_contents': {
      const out = datatype === 'INT64' ? new BigInt64Array(count) : new BigUint64Array(count);
      varints(name, bytes, segments, new Uint32Array(out.buffer), true);
      return out;
    }
    default: {
      const words = new Uint32Array(count);
      varints(name, bytes, segments, words, false);
      return narrow(datatype, words);
    }
  }
}

function bytesElements(bytes: Uint8Array, segments: readonly Segment[], count: number): BytesData {
  let total = 0;
  for (const segment of segments) total += 4 + segment.end - segment.start;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const segment of segments) {
    out.writeUInt32LE(segment.end - segment.start, offset);
    out.set(bytes.subarray(segment.start, segment.end), offset + 4);
    offset += 4 + segment.end - segment.start;
  }
  return BytesData.fromSerialized(out) ?? BytesData.fromElements(new Array(count).fill(new Uint8Array(0)));
}

/** Packed or unpacked fixed32/fixed64 words copied into the typed array's bytes. */
function fixedWidth(name: string, bytes: Uint8Array, segments: readonly Segment[], count: number, out: Float32Array | Float64Array): FixedTypedArray {
  const target = new Uint8Array(out.buffer);
  const width = out.BYTES_PER_ELEMENT;
  let offset = 0;
  for (const segment of segments) {
    const length = segment.end - segment.start;
    if (segment.wireType !== WIRE_LENGTH && segment.wireType !== (width === 4 ? WIRE_FIXED32 : WIRE_FIXED64)) throw malformed(name);
    target.set(bytes.subarray(segment.start, segment.end), offset);
    offset += length;
  }
  if (offset !== count * width) throw malformed(name);
  return out;
}

/**
 * Varints into 32-bit words: one word per element, or (wide) two words, low then high, per 64-bit element. A 64-bit
 * varint is at most 10 bytes; its bits above 64 are dropped as protobuf parsers do.
 */
function varints(name: string, bytes: Uint8Array, segments: readonly Segment[], words: Uint32Array, wide: boolean): void {
  let index = 0;
  for (const segment of segments) {
    if (segment.wireType !== WIRE_LENGTH && segment.wireType !== WIRE_VARINT) throw malformed(name);
    let pos = segment.start;
    while (pos < segment.end) {
      let low = 0;
      let high = 0;
      for (let shift = 0; ; shift += 7) {
        if (pos >= segment.end || shift >= 70) throw malformed(name);
        const byte = bytes[pos++];
        const bits = byte & 0x7f;
        if (shift < 28) low |= bits << shift;
        else if (shift === 28) {
          low |= bits << 28;
          high |= bits >>> 4;
        } else if (shift < 64) high |= bits << (shift - 32);
        if ((byte & 0x80) === 0) break;
      }
      if (wide) {
        words[index++] = low >>> 0;
        words[index++] = high >>> 0;
      } else {
        words[index++] = low >>> 0;
      }
    }
  }
}

/** 32-bit words into the datatype's array (INT8/INT16 keep the low bits, as a C++ server's cast does). */
function narrow(datatype: DataType, words: Uint32Array): FixedTypedArray {
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(words, (word) => (word !== 0 ? 1 : 0));
    case 'INT8':
      return Int8Array.from(words);
    case 'INT16':
      return Int16Array.from(words);
    case 'INT32':
      return new Int32Array(words.buffer);
    case 'UINT8':
      return Uint8Array.from(words);
    case 'UINT16':
      return Uint16Array.from(words);
    default:
      return words;
  }
}
