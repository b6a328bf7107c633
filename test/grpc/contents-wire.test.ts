/**
 * contents-wire.ts decodes InferTensorContents from its wire bytes without an object per element. Checked against
 * protobufjs' own encoding (what every client sends) for bytes_contents and the numeric fields, and fuzzed with
 * hostile bytes: truncated elements, lengths past the end, wrong wire types. Every outcome is the decoded tensor or
 * one of the catalogue's INVALID_ARG errors, never another exception.
 */
import fc from 'fast-check';
import { BytesData } from '../../server/core/bytes-data';
import { InferenceError } from '../../server/core/errors';
import { contentsWireHasElements, dataFromContentsWire } from '../../server/protocol/grpc/contents-wire';
import { deserializeInferRequest, serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import type { InferTensorContentsMessage } from '../../server/protocol/grpc/messages';

/** The wire bytes of `contents` as a client's protobuf library writes them (field 5 of InferInputTensor). */
function wireOf(contents: InferTensorContentsMessage): Uint8Array {
  const request = serializeInferRequest({ model_name: 'm', inputs: [{ name: 'x', datatype: 'BYTES', shape: [0], contents }] });
  return deserializeInferRequest(request).inputs[0].contents_wire ?? new Uint8Array(0);
}

/** The error's status and text, or 'ok'. */
function outcome(decode: () => unknown): string {
  try {
    decode();
    return 'ok';
  } catch (error) {
    if (!(error instanceof InferenceError)) throw error;
    return `${error.code}: ${error.message}`;
  }
}

const elements = fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 40 });

describe('bytes_contents from wire bytes', () => {
  it('decodes what protobufjs encodes into one serialised buffer, elements in order', () => {
    fc.assert(
      fc.property(elements, (list) => {
        const data = dataFromContentsWire('x', 'BYTES', list.length, wireOf({ bytes_contents: list.map((e) => Buffer.from(e)) }));
        expect(data).toBeInstanceOf(BytesData);
        const bytes = data as BytesData;
        expect(bytes.length).toBe(list.length);
        expect(Buffer.from(bytes.serialized)).toEqual(Buffer.from(BytesData.fromElements(list).serialized));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a count that is not the shape’s with the catalogue’s text', () => {
    const wire = wireOf({ bytes_contents: [Buffer.from('ab'), Buffer.from('')] });
    expect(outcome(() => dataFromContentsWire('x', 'BYTES', 3, wire))).toBe(
      "INVALID_ARG: unexpected number of elements for input 'x': shape implies 3, data holds 2",
    );
    expect(contentsWireHasElements('x', wire)).toBe(true);
  });

  it('refuses another contents field next to the datatype’s', () => {
    const wire = wireOf({ bytes_contents: [Buffer.from('a')], int_contents: [1] });
    expect(outcome(() => dataFromContentsWire('x', 'BYTES', 1, wire))).toBe(
      "INVALID_ARG: input 'x' has datatype BYTES, so its data must be in bytes_contents; other contents fields must be empty",
    );
  });

  it('decodes 200,000 elements (one occurrence each) exactly', () => {
    const list = Array.from({ length: 200_000 }, (_, i) => Buffer.from(String(i % 1000)));
    const data = dataFromContentsWire('x', 'BYTES', list.length, wireOf({ bytes_contents: list })) as BytesData;
    expect(data.length).toBe(200_000);
    expect(Buffer.from(data.element(199_999)).toString()).toBe('999');
    expect(Buffer.from(data.element(1234)).toString()).toBe('234');
  });

  it('turns truncated and hostile wire bytes into INVALID_ARG, never a crash', () => {
    const malformed = "INVALID_ARG: Unable to parse 'data' of input 'x': malformed InferTensorContents";
    // A length of 2^32 - 1 with 3 bytes behind it; a length varint that never ends; wire type 3 (groups) and 7.
    expect(outcome(() => dataFromContentsWire('x', 'BYTES', 1, Buffer.from([0x42, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])))).toBe(malformed);
    expect(outcome(() => dataFromContentsWire('x', 'BYTES', 1, Buffer.from([0x42, ...new Array(11).fill(0xff)])))).toBe(malformed);
    expect(outcome(() => dataFromContentsWire('x', 'BYTES', 1, Buffer.from([0x43, 0x00])))).toBe(malformed);
    expect(outcome(() => dataFromContentsWire('x', 'BYTES', 1, Buffer.from([0x47, 0x00])))).toBe(malformed);
    // bytes_contents (field 8) sent as a varint.
    expect(outcome(() => dataFromContentsWire('x', 'BYTES', 1, Buffer.from([0x40, 0x05])))).toBe(malformed);
    fc.assert(
      fc.property(elements, fc.nat(), (list, cut) => {
        const wire = wireOf({ bytes_contents: list.map((e) => Buffer.from(e)) });
        const truncated = wire.subarray(0, wire.length === 0 ? 0 : cut % wire.length);
        const result = outcome(() => dataFromContentsWire('x', 'BYTES', list.length, truncated));
        // Cut on an element boundary: fewer elements than the shape says; inside one: malformed.
        expect(result).toMatch(/^(ok|INVALID_ARG: (unexpected number of elements|Unable to parse 'data' of input 'x': malformed))/);
        if (truncated.length < wire.length) expect(result).not.toBe('ok');
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom('BYTES', 'INT32', 'INT64', 'FP32', 'FP64', 'BOOL', 'UINT8') as fc.Arbitrary<'BYTES'>, fc.nat(16), (raw, datatype, count) => {
        expect(outcome(() => dataFromContentsWire('x', datatype, count, Buffer.from(raw)))).toMatch(/^(ok|INVALID_ARG: )/);
        expect(() => contentsWireHasElements('x', Buffer.from(raw))).not.toThrow(RangeError);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('numeric contents from wire bytes', () => {
  it('decodes packed fields as protobufjs wrote them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 30 }),
        fc.array(fc.double({ noNaN: true }), { maxLength: 30 }),
        fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 30 }),
        (ints, doubles, longs) => {
          expect(Array.from(dataFromContentsWire('x', 'INT32', ints.length, wireOf({ int_contents: ints })) as Int32Array)).toEqual(ints);
          expect(Array.from(dataFromContentsWire('x', 'FP64', doubles.length, wireOf({ fp64_contents: doubles })) as Float64Array)).toEqual(doubles);
          const int64 = dataFromContentsWire('x', 'INT64', longs.length, wireOf({ int64_contents: longs.map(String) })) as BigInt64Array;
          expect(Array.from(int64)).toEqual(longs);
        },
      ),
      { numRuns: 200 },
    );
  });
});
