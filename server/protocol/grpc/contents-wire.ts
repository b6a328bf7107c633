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
const MAX_FIELD_NUMBER = 8;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** Called with each occurrence of a field: its number, wire type and payload range (no object per occurrence). */
type FieldVisitor = (field: number, wireType: number, start: number, end: number) => void;

function malformed(name: string): Error {
  return Errors.badTensorData(name, 'malformed InferTensorContents');
}

/** Read a varint's low 32 bits at `pos` (high bits are validated and dropped); the next position is in `cursor.pos`. */
function readVarint32(bytes: Uint8Array, cursor: { pos: number }, name: string): number {
  let value = 0;
  let pos = cursor.pos;
  for (let shift = 0; shift < 70; shift += 7) {
    if (pos >= bytes.length) throw malformed(name);
    const byte = bytes[pos++];
    if (shift < 32) value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) {
      cursor.pos = pos;
      return value >>> 0;
    }
  }
  throw malformed(name);
}

/**
 * Walk the message's fields in order without decoding values. A repeated bytes field is one occurrence per element,
 * so this allocates nothing per occurrence: a 500,000-element bytes_contents is two passes over its bytes.
 */
function forEachField(name: string, bytes: Uint8Array, visit: FieldVisitor): void {
  const cursor = { pos: 0 };
  const size = bytes.length; // read once: a typed array's length getter in a hot loop is not free on Node 20
  while (cursor.pos < size) {
    // One-byte tags and lengths (every field here, elements under 128 bytes) skip the general varint reader.
    const tag = bytes[cursor.pos] < 0x80 ? bytes[cursor.pos++] : readVarint32(bytes, cursor, name);
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw malformed(name);
    const start = cursor.pos;
    let end: number;
    if (wireType === WIRE_VARINT) {
      end = start;
      while (end < size && (bytes[end] & 0x80) !== 0) end++;
      end++;
    } else if (wireType === WIRE_FIXED64) {
      end = start + 8;
    } else if (wireType === WIRE_FIXED32) {
      end = start + 4;
    } else if (wireType === WIRE_LENGTH) {
      const length = cursor.pos < size && bytes[cursor.pos] < 0x80 ? bytes[cursor.pos++] : readVarint32(bytes, cursor, name);
      const payload = cursor.pos;
      end = payload + length;
      if (end > size) throw malformed(name);
      cursor.pos = end;
      visit(field, wireType, payload, end);
      continue;
    } else {
      throw malformed(name);
    }
    if (end > size) throw malformed(name);
    cursor.pos = end;
    visit(field, wireType, start, end);
  }
}

/** Elements one occurrence holds: packed runs count their varints or fixed-size words (fractional when torn). */
function elementsIn(bytes: Uint8Array, field: ContentsField, wireType: number, start: number, end: number): number {
  if (field === 'bytes_contents' || wireType !== WIRE_LENGTH) return 1;
  if (field === 'fp32_contents') return (end - start) / 4;
  if (field === 'fp64_contents') return (end - start) / 8;
  let count = 0;
  for (let i = start; i < end; i++) if ((bytes[i] & 0x80) === 0) count++;
  return count;
}

/** Elements in each contents field, indexed by field number (unknown fields are skipped, as protobuf parsers do). */
function countByField(name: string, bytes: Uint8Array): Float64Array {
  const counts = new Float64Array(MAX_FIELD_NUMBER + 1);
  forEachField(name, bytes, (field, wireType, start, end) => {
    const known = FIELD_NAME.get(field);
    if (known) counts[field] += elementsIn(bytes, known, wireType, start, end);
  });
  return counts;
}

/** Whether the wire bytes hold any element (what hasContents says of a decoded message). */
export function contentsWireHasElements(name: string, bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  return countByField(name, bytes).some((count) => count > 0);
}

/** Decode the datatype's contents field into its in-memory form, checking fields and the element count first. */
export function dataFromContentsWire(name: string, datatype: DataType, expectedCount: number, bytes: Uint8Array): TensorData {
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) throw Errors.contentsNoTypedField(name, datatype);
  const number = FIELD_NUMBER[field];
  const counts = countByField(name, bytes);
  for (let other = 1; other <= MAX_FIELD_NUMBER; other++) {
    if (other !== number && counts[other] > 0) throw Errors.contentsWrongField(name, datatype, field);
  }
  const count = counts[number];
  if (!Number.isInteger(count)) throw malformed(name);
  if (count !== expectedCount) throw Errors.elementCountMismatch(name, expectedCount, count);

  switch (field) {
    case 'bytes_contents':
      return bytesElements(name, bytes, count);
    case 'fp32_contents':
    case 'fp64_contents':
      return fixedWidth(name, bytes, number, count, field === 'fp32_contents' ? new Float32Array(count) : new Float64Array(count));
    case 'int64_contents':
    case 'uint64_contents': {
      const out = datatype === 'INT64' ? new BigInt64Array(count) : new BigUint64Array(count);
      varints(name, bytes, number, new Uint32Array(out.buffer), true);
      return out;
    }
    default: {
      const words = new Uint32Array(count);
      varints(name, bytes, number, words, false);
      return narrow(datatype, words);
    }
  }
}

/** Copy bytes[start, end) to out at `at`: a loop for short runs, where a subarray view per element would cost more. */
function copyRange(bytes: Uint8Array, start: number, end: number, out: Uint8Array, at: number): void {
  if (end - start <= 32) {
    for (let i = start; i < end; i++) out[at++] = bytes[i];
  } else {
    out.set(bytes.subarray(start, end), at);
  }
}

/** bytes_contents (one occurrence per element) into Triton's serialised form, in one buffer: a pass to size, one to copy. */
function bytesElements(name: string, bytes: Uint8Array, count: number): BytesData {
  const BYTES = FIELD_NUMBER.bytes_contents;
  let total = 0;
  forEachField(name, bytes, (field, wireType, start, end) => {
    if (field !== BYTES) return;
    if (wireType !== WIRE_LENGTH) throw malformed(name);
    total += 4 + end - start;
  });
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  forEachField(name, bytes, (field, _wireType, start, end) => {
    if (field !== BYTES) return;
    out.writeUInt32LE(end - start, offset);
    copyRange(bytes, start, end, out, offset + 4);
    offset += 4 + end - start;
  });
  return BytesData.trusted(out, count);
}

/** Packed or unpacked fixed32/fixed64 words copied into the typed array's bytes. */
function fixedWidth(name: string, bytes: Uint8Array, number: number, count: number, out: Float32Array | Float64Array): FixedTypedArray {
  const target = new Uint8Array(out.buffer);
  const width = out.BYTES_PER_ELEMENT;
  const unpackedWireType = width === 4 ? WIRE_FIXED32 : WIRE_FIXED64;
  let offset = 0;
  forEachField(name, bytes, (field, wireType, start, end) => {
    if (field !== number) return;
    if (wireType !== WIRE_LENGTH && wireType !== unpackedWireType) throw malformed(name);
    copyRange(bytes, start, end, target, offset);
    offset += end - start;
  });
  if (offset !== count * width) throw malformed(name);
  return out;
}

/**
 * Varints into 32-bit words: one word per element, or (wide) two words, low then high, per 64-bit element. A 64-bit
 * varint is at most 10 bytes; its bits above 64 are dropped as protobuf parsers do.
 */
function varints(name: string, bytes: Uint8Array, number: number, words: Uint32Array, wide: boolean): void {
  let index = 0;
  forEachField(name, bytes, (field, wireType, start, end) => {
    if (field !== number) return;
    if (wireType !== WIRE_LENGTH && wireType !== WIRE_VARINT) throw malformed(name);
    let pos = start;
    while (pos < end) {
      let low = 0;
      let high = 0;
      for (let shift = 0; ; shift += 7) {
        if (pos >= end || shift >= 70) throw malformed(name);
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
  });
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
