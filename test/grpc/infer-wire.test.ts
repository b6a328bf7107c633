/**
 * infer-wire.ts against proto-loader's serializers (what the server used before, and what standard proto-based
 * clients use): the same bytes for every message we send, and the same core request (or the same error) for every
 * message we receive. Fuzzed with fast-check over parameters, 64-bit integers past 2^53, typed contents and raw bytes.
 */
import { dataFromContentsWire } from '../../server/protocol/grpc/contents-wire';
import fc from 'fast-check';
import { decodeInferRequest } from '../../server/protocol/grpc/codec';
import {
  deserializeInferRequest,
  deserializeInferResponse,
  deserializeStreamInferResponse,
  serializeInferRequest,
  serializeInferResponse,
  serializeStreamInferResponse,
} from '../../server/protocol/grpc/infer-wire';
import type { ModelInferRequestMessage } from '../../server/protocol/grpc/messages';
import { inferenceServiceDefinition } from '../../server/protocol/grpc/proto';

interface Serializers {
  requestSerialize(value: unknown): Buffer;
  requestDeserialize(bytes: Buffer): unknown;
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}
const loaderInfer = inferenceServiceDefinition().ModelInfer as unknown as Serializers;
const loaderStream = inferenceServiceDefinition().ModelStreamInfer as unknown as Serializers;

const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String);
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);
const parameter = fc.oneof(
  fc.record({ bool_param: fc.boolean() }),
  fc.record({ int64_param: int64 }),
  fc.record({ uint64_param: uint64 }),
  fc.record({ double_param: fc.double({ noNaN: true }) }),
  fc.record({ string_param: fc.string() }),
);
const parameters = fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), parameter, { maxKeys: 3 });
const datatype = fc.constantFrom('INT32', 'INT64', 'UINT64', 'FP32', 'BOOL', 'BYTES', 'FP16', 'NOPE');
const shape = fc.array(fc.oneof(fc.integer({ min: 0, max: 4 }).map(String), int64), { maxLength: 3 });
const contents = fc.oneof(
  fc.constant(undefined),
  fc.record({ int_contents: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 4 }) }),
  fc.record({ int64_contents: fc.array(int64, { maxLength: 4 }) }),
  fc.record({ uint64_contents: fc.array(uint64, { maxLength: 4 }) }),
  fc.record({ fp32_contents: fc.array(fc.float({ noNaN: true }), { maxLength: 4 }) }),
  fc.record({ bool_contents: fc.array(fc.boolean(), { maxLength: 4 }) }),
);
const bytes = fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b));
const request = fc.record(
  {
    model_name: fc.string({ maxLength: 8 }),
    model_version: fc.constantFrom('', '1', '2'),
    id: fc.string({ maxLength: 8 }),
    parameters,
    inputs: fc.array(fc.record({ name: fc.string({ maxLength: 6 }), datatype, shape, parameters, contents }, { requiredKeys: ['name', 'datatype', 'shape'] }), {
      maxLength: 3,
    }),
    outputs: fc.array(fc.record({ name: fc.string({ maxLength: 6 }), parameters }, { requiredKeys: ['name'] }), { maxLength: 2 }),
    raw_input_contents: fc.array(bytes, { maxLength: 3 }),
  },
  { requiredKeys: ['model_name', 'inputs'] },
);
const response = fc.record(
  {
    model_name: fc.string({ maxLength: 8 }),
    model_version: fc.constantFrom('1', '2'),
    id: fc.string({ maxLength: 8 }),
    parameters,
    outputs: fc.array(fc.record({ name: fc.string({ maxLength: 6 }), datatype, shape: fc.array(fc.nat(8), { maxLength: 3 }), parameters }), {
      maxLength: 3,
    }),
    raw_output_contents: fc.array(bytes, { maxLength: 3 }),
  },
  { requiredKeys: ['model_name', 'model_version', 'outputs'] },
);

/** The core request the codec builds from a decoded message, or the error it throws (message and Triton code). */
function outcome(message: unknown): unknown {
  try {
    return decodeInferRequest(message as ModelInferRequestMessage).request;
  } catch (error) {
    return { error: (error as Error).message, code: (error as { code?: unknown }).code };
  }
}

describe('infer-wire against proto-loader', () => {
  it('encodes requests, responses and stream responses to the same bytes', () => {
    fc.assert(
      fc.property(request, response, fc.string(), (req, res, errorMessage) => {
        expect(serializeInferRequest(req as unknown as ModelInferRequestMessage)).toEqual(loaderInfer.requestSerialize(req));
        expect(serializeInferResponse(res)).toEqual(loaderInfer.responseSerialize(res));
        const streamed = { error_message: errorMessage, infer_response: res };
        expect(serializeStreamInferResponse(streamed)).toEqual(loaderStream.responseSerialize(streamed));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes any request to the same core request or the same error', () => {
    fc.assert(
      fc.property(request, (req) => {
        const wire = loaderInfer.requestSerialize(req);
        expect(outcome(deserializeInferRequest(wire))).toEqual(outcome(loaderInfer.requestDeserialize(wire)));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps raw contents as views into the received buffer (no copy)', () => {
    const wire = loaderInfer.requestSerialize({ model_name: 'm', inputs: [], raw_input_contents: [Buffer.from([1, 2, 3, 4])] });
    const decoded = deserializeInferRequest(wire);
    expect(Array.from(decoded.raw_input_contents![0])).toEqual([1, 2, 3, 4]);
    expect(decoded.raw_input_contents![0].buffer).toBe(wire.buffer);
  });

  it('decodes 64-bit integers exactly: numbers when safe, decimal strings past 2^53', () => {
    const wire = loaderInfer.requestSerialize({
      model_name: 'm',
      parameters: { big: { uint64_param: '18446744073709551615' }, small: { int64_param: '-7' } },
      inputs: [{ name: 'x', datatype: 'INT64', shape: ['2', '9007199254740993'], contents: { int64_contents: ['-9223372036854775808', '5'] } }],
    });
    const decoded = deserializeInferRequest(wire);
    expect(decoded.parameters!.big.uint64_param).toBe('18446744073709551615');
    expect(decoded.parameters!.small.int64_param).toBe(-7);
    expect(decoded.inputs[0].shape).toEqual([2, '9007199254740993']);
    // Typed contents stay wire bytes until the codec decodes them straight into a typed array (no Long per element).
    expect(decoded.inputs[0].contents).toBeFalsy();
    expect(Array.from(dataFromContentsWire('x', 'INT64', 2, decoded.inputs[0].contents_wire!) as BigInt64Array)).toEqual([-(2n ** 63n), 5n]);
  });

  it('decodes typed contents in the unpacked encoding too (proto2-style writers)', () => {
    // int_contents (field 2) as two unpacked varints, -1 and 300; fp32_contents (6) unpacked is tested by the property above.
    const unpacked = Buffer.from([0x10, ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 0x10, 0xac, 0x02]);
    expect(Array.from(dataFromContentsWire('x', 'INT32', 2, unpacked) as Int32Array)).toEqual([-1, 300]);
    expect(() => dataFromContentsWire('x', 'INT32', 3, unpacked)).toThrow(/expected 3|3 elements|element/);
    expect(() => dataFromContentsWire('x', 'INT32', 2, Buffer.from([0x12, 0x05, 0x01]))).toThrow(/malformed InferTensorContents/);
  });

  it('decodes responses as the client reads them (shapes, parameters, raw contents)', () => {
    fc.assert(
      fc.property(response, (res) => {
        const wire = loaderInfer.responseSerialize(res);
        const ours = deserializeInferResponse(wire);
        const theirs = loaderInfer.responseDeserialize(wire) as typeof ours;
        expect(ours.outputs.map((o) => o.shape.map(Number))).toEqual(theirs.outputs.map((o) => o.shape.map(Number)));
        expect(ours.raw_output_contents!.map((b) => Buffer.from(b))).toEqual(theirs.raw_output_contents!.map((b) => Buffer.from(b)));
        expect([ours.model_name, ours.model_version, ours.id]).toEqual([theirs.model_name, theirs.model_version, theirs.id]);
        for (const key of Object.keys(theirs.parameters ?? {})) {
          const [a, b] = [ours.parameters![key], theirs.parameters![key]];
          expect(a.parameter_choice).toBe(b.parameter_choice);
          expect(String(a[a.parameter_choice!])).toBe(String(b[b.parameter_choice!]));
        }
        const stream = deserializeStreamInferResponse(loaderStream.responseSerialize({ error_message: 'x', infer_response: res }));
        expect(stream.error_message).toBe('x');
        expect(stream.infer_response!.outputs.length).toBe(res.outputs.length);
      }),
      { numRuns: 200 },
    );
  });

  it('fails on malformed bytes exactly when proto-loader does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (raw) => {
        const wire = Buffer.from(raw);
        const threw = (f: () => unknown) => {
          try {
            f();
            return false;
          } catch {
            return true;
          }
        };
        expect(threw(() => deserializeInferRequest(wire))).toBe(threw(() => loaderInfer.requestDeserialize(wire)));
      }),
      { numRuns: 500 },
    );
  });
});
