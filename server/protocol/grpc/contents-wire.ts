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
const MAX_FIELD_NUMBER = 8;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

function malformed(name: string): Error {
  return Errors.badTensorData(name, 'malformed InferTensorContents');
}

/**
 * Walks the message's fields in order without decoding values: after each next(), `field`, `wireType` and the
 * payload's range [`start`, `end`). A repeated bytes field is one occurrence per element, so nothing is allocated per
 * occurrence, and the loops below call no callback per element (a closure per pass made this 3× slower on Node 20).
 */
class FieldCursor {
  field = 0;
  wireType = 0;
  start = 0;
  end = 0;
  private pos = 0;
  /** Read once: a typed array's length getter in a hot loop is not free on Node 20. */
  private readonly size: number;

  constructor(
    private readonly name: string,
    private readonly bytes: Uint8Array,
  ) {
    this.size = bytes.length;
  }

  next(): boolean {
    if (this.pos >= this.size) return false;
    const bytes = this.bytes;
    // One-byte tags and lengths (every field here, elements under 128 bytes) skip the general varint reader.
    const tag = bytes[this.pos] < 0x80 ? bytes[this.pos++] : this.varint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw malformed(this.name);
    let start = this.pos;
    let end: number;
    if (wireType === WIRE_VARINT) {
      end = start;
      while (end < this.size && (bytes[end] & 0x80) !== 0) end++;
      end++;
    } else if (wireType === WIRE_FIXED64) {
      end = start + 8;
    } else if (wireType === WIRE_FIXED32) {
      end = start + 4;
    } else if (wireType === WIRE_LENGTH) {
      const length = this.pos < this.size && bytes[this.pos] < 0x80 ? bytes[this.pos++] : this.varint32();
      start = this.pos;
      end = start + length;
    } else {
      throw malformed(this.name);
    }
    if (end > this.size) throw malformed(this.name);
    this.pos = end;
    this.field = field;
    this.wireType = wireType;
    this.start = start;
    this.end = end;
    return true;
  }

  /** A varint's low 32 bits (high bits are validated and dropped). */
  private varint32(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.size) throw malformed(this.name);
      const byte = this.bytes[this.pos++];
      if (shift < 32) value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
    throw malformed(this.name);
  }
}

const BYTES_FIELD = FIELD_NUMBER.bytes_contents;
const FP32_FIELD = FIELD_NUMBER.fp32_contents;
const FP64_FIELD = FIELD_NUMBER.fp64_contents;

/** Elements one occurrence holds: packed runs count their varints or fixed-size words (fractional when torn). */
function elementsIn(bytes: Uint8Array, field: number, wireType: number, start: number, end: number): number {
  if (field === BYTES_FIELD || wireType !== WIRE_LENGTH) return 1;
  if (field === FP32_FIELD) return (end - start) / 4;
  if (field === FP64_FIELD) return (end - start) / 8;
  let count = 0;
  for (let i = start; i < end; i++) if ((bytes[i] & 0x80) === 0) count++;
  return count;
}

interface FieldCounts {
  /** Elements in each contents field, indexed by field number. */
  readonly counts: Float64Array;
  /** Bytes of all bytes_contents elements together. */
  readonly bytesPayload: number;
}

/** One pass: elements per contents field (unknown fields are skipped, as protobuf parsers do). */
function countByField(name: string, bytes: Uint8Array): FieldCounts {
  const counts = new Float64Array(MAX_FIELD_NUMBER + 1);
  let bytesPayload = 0;
  for (const at = new FieldCursor(name, bytes); at.next(); ) {
    const field = at.field;
    if (field === BYTES_FIELD) {
      if (at.wireType !== WIRE_LENGTH) throw malformed(name);
      counts[field] += 1;
      bytesPayload += at.end - at.start;
    } else if (field <= MAX_FIELD_NUMBER) {
      counts[field] += elementsIn(bytes, field, at.wireType, at.start, at.end);
    }
  }
  return { counts, bytesPayload };
}

/** Whether the wire bytes hold any element (what hasContents says of a decoded message). */
export function contentsWireHasElements(name: string, bytes: Uint8Array): boolean {
  if (bytes.length === 0) return false;
  return countByField(name, bytes).counts.some((count) => count > 0);
}

/** Decode the datatype's contents field into its in-memory form, checking fields and the element count first. */
export function dataFromContentsWire(name: string, datatype: DataType, expectedCount: number, bytes: Uint8Array): TensorData {
  const field = CONTENTS_FIELD[datatype];
  if (field === undefined) throw Errors.contentsNoTypedField(name, datatype);
  const number = FIELD_NUMBER[field];
  const { counts, bytesPayload } = countByField(name, bytes);
  for (let other = 1; other <= MAX_FIELD_NUMBER; other++) {
    if (other !== number && counts[other] > 0) throw Errors.contentsWrongField(name, datatype, field);
  }
  const count = counts[number];
  if (!Number.isInteger(count)) throw malformed(name);
  if (count !== expectedCount) throw Errors.elementCountMismatch(name, expectedCount, count);

  switch (field) {
    case 'bytes_contents':
      return bytesElements(name, bytes, count, bytesPayload);
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

/**
 * bytes_contents (one occurrence per element) into Triton's serialised form, in one buffer sized by the counting
 * pass (as Triton's gRPC frontend reserves the total before it appends).
 */
function bytesElements(name: string, bytes: Uint8Array, count: number, payload: number): BytesData {
  const out = Buffer.allocUnsafe(4 * count + payload);
  let offset = 0;
  for (const at = new FieldCursor(name, bytes); at.next(); ) {
    if (at.field !== BYTES_FIELD) continue;
    const length = at.end - at.start;
    out[offset] = length;
    out[offset + 1] = length >>> 8;
    out[offset + 2] = length >>> 16;
    out[offset + 3] = length >>> 24;
    copyRange(bytes, at.start, at.end, out, offset + 4);
    offset += 4 + length;
  }
  return BytesData.trusted(out, count);
}

/** Packed or unpacked fixed32/fixed64 words copied into the typed array's bytes. */
function fixedWidth(name: string, bytes: Uint8Array, number: number, count: number, out: Float32Array | Float64Array): FixedTypedArray {
  const target = new Uint8Array(out.buffer);
  const width = out.BYTES_PER_ELEMENT;
  const unpackedWireType = width === 4 ? WIRE_FIXED32 : WIRE_FIXED64;
  let offset = 0;
  for (const at = new FieldCursor(name, bytes); at.next(); ) {
    if (at.field !== number) continue;
    if (at.wireType !== WIRE_LENGTH && at.wireType !== unpackedWireType) throw malformed(name);
    if (offset + at.end - at.start > target.length) throw malformed(name);
    copyRange(bytes, at.start, at.end, target, offset);
    offset += at.end - at.start;
  }
  if (offset !== count * width) throw malformed(name);
  return out;
}

/**
 * Varints into 32-bit words: one word per element, or (wide) two words, low then high, per 64-bit element. A 64-bit
 * varint is at most 10 bytes; its bits above 64 are dropped as protobuf parsers do.
 */
function varints(name: string, bytes: Uint8Array, number: number, words: Uint32Array, wide: boolean): void {
  let index = 0;
  for (const at = new FieldCursor(name, bytes); at.next(); ) {
    if (at.field !== number) continue;
    if (at.wireType !== WIRE_LENGTH && at.wireType !== WIRE_VARINT) throw malformed(name);
    const end = at.end;
    let pos = at.start;
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
