/**
 * The lean ModelInfer / ModelStreamInfer path (server/protocol/grpc/lean-infer.ts), driven with hand-made HTTP/2
 * frames: well-formed calls (plain, gzip, deflate), every malformed framing a client can send (fuzzed), deadlines,
 * resets; each ends with a clear gRPC status and the server keeps serving.
 */
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import { status as GrpcStatus } from '@grpc/grpc-js';
import fc from 'fast-check';
import { grpcFrame, grpcH2Call, GrpcH2Result } from '../../bench/lib/grpc-h2';
import type { BytesData } from '../../server/core/bytes-data';
import { InflateSlots } from '../../server/protocol/http/compression';
import { deserializeInferResponse, deserializeStreamInferResponse, serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from '../../server/protocol/grpc/lean-infer';
import { GrpcFrontend } from '../../server/protocol/grpc/server';
import { GrpcMessageFramer, messageBytes } from '../../server/protocol/grpc/message-reader';
import { int32sOf, simpleRawRequest, startServer, StartedServer } from './helpers';

const LIMIT = 64 * 1024;
let server: StartedServer;
let session: http2.ClientHttp2Session;
const simple = serializeInferRequest(simpleRawRequest('lean'));

beforeAll(async () => {
  server = await startServer({ loadModels: ['simple', 'string_upper'], httpPort: undefined, allowHttp: false, grpcMaxMessageBytes: LIMIT, grpcLeanInfer: true });
  session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
});
afterAll(async () => {
  session?.close();
  await server?.app.stop();
});

function expectSimpleAnswer(result: GrpcH2Result): void {
  expect({ status: result.status, details: result.details, messages: result.messages.length }).toEqual({ status: GrpcStatus.OK, details: 'OK', messages: 1 });
  const response = deserializeInferResponse(result.messages[0]);
  expect(response.id).toBe('lean');
  expect(int32sOf(response.raw_output_contents![0])).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
}

it('serves the inference calls itself, in front of grpc-js', () => {
  expect(server.app.grpc?.leanInferActive).toBe(true);
});

it('answers a plain, a gzip and a deflate ModelInfer, and one split across many DATA writes', async () => {
  expectSimpleAnswer(await grpcH2Call(session, MODEL_INFER_PATH, [grpcFrame(simple)]));
  expectSimpleAnswer(await grpcH2Call(session, MODEL_INFER_PATH, [grpcFrame(zlib.gzipSync(simple), true)], { headers: { 'grpc-encoding': 'gzip' } }));
  expectSimpleAnswer(await grpcH2Call(session, MODEL_INFER_PATH, [grpcFrame(zlib.deflateSync(simple), true)], { headers: { 'grpc-encoding': 'deflate' } }));
  const framed = grpcFrame(simple);
  expectSimpleAnswer(await grpcH2Call(session, MODEL_INFER_PATH, Array.from(framed, (byte) => Uint8Array.of(byte))));
});

it("keeps a request's tensors intact after later DATA arrives on the connection (messages are copied out of it)", async () => {
  // BYTES tensors are views into their message (no alignment copy, unlike INT32): were the message a view into
  // Node's HTTP/2 read buffer, later reads on the connection would overwrite them.
  const infer = jest.spyOn(server.app.service, 'infer');
  try {
    const word = (value: number) => `word-${value}`;
    const request = (value: number) =>
      grpcFrame(serializeInferRequest({ model_name: 'string_upper', id: String(value), inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1] }], raw_input_contents: [Buffer.concat([Buffer.from([word(value).length, 0, 0, 0]), Buffer.from(word(value))])] }));
    const values = Array.from({ length: 16 }, (_, value) => value);
    // Sequential calls, then concurrent ones (several messages per socket read).
    for (const value of values.slice(0, 8)) expect((await grpcH2Call(session, MODEL_INFER_PATH, [request(value)])).status).toBe(GrpcStatus.OK);
    const concurrent = await Promise.all(values.slice(8).map((value) => grpcH2Call(session, MODEL_INFER_PATH, [request(value)])));
    expect(concurrent.map((result) => result.status)).toEqual(new Array<number>(8).fill(GrpcStatus.OK));
    const seen = infer.mock.calls.map(([call]) => [call.id, (call.inputs[0].data as BytesData).toStrings()[0]]);
    expect(new Map(seen as [string, string][])).toEqual(new Map(values.map((value) => [String(value), word(value)])));
  } finally {
    infer.mockRestore();
  }
});

it('refuses malformed framing with grpc-js texts, or a clear status where grpc-js has none', async () => {
  const cases: Array<[Uint8Array[], Record<string, string>, number, string | RegExp]> = [
    [[grpcFrame(simple).subarray(0, 20)], {}, GrpcStatus.INTERNAL, 'Received an incomplete message: the stream ended inside it'],
    [[Uint8Array.of(0, 0, 0)], {}, GrpcStatus.INTERNAL, 'Received an incomplete message: the stream ended inside it'],
    [[Uint8Array.of(0, 0xff, 0xff, 0xff, 0xff)], {}, GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (4294967295 vs ${LIMIT})`],
    [[Uint8Array.of(2, 0, 0, 0, 0)], {}, GrpcStatus.INTERNAL, 'Invalid message compression flag 2'],
    [[grpcFrame(simple, true)], {}, GrpcStatus.INTERNAL, 'Received a compressed message but the call has no grpc-encoding'],
    [[grpcFrame(simple, true)], { 'grpc-encoding': 'snappy' }, GrpcStatus.UNIMPLEMENTED, 'Received message compressed with unsupported encoding "snappy"'],
    [[grpcFrame(simple, true)], { 'grpc-encoding': 'gzip' }, GrpcStatus.INTERNAL, 'Failed to decompress message'],
    [[grpcFrame(zlib.gzipSync(Buffer.alloc(LIMIT + 1)), true)], { 'grpc-encoding': 'gzip' }, GrpcStatus.RESOURCE_EXHAUSTED, `Received message that decompresses to a size larger than ${LIMIT}`],
    [[grpcFrame(Buffer.from([0xff, 0xff]))], {}, GrpcStatus.INTERNAL, 'Error deserializing request'],
    [[], {}, GrpcStatus.UNIMPLEMENTED, `Received no request message for server streaming method ${MODEL_INFER_PATH}`],
    [[grpcFrame(simple), grpcFrame(simple)], {}, GrpcStatus.UNIMPLEMENTED, `Received a second request message for server streaming method ${MODEL_INFER_PATH}`],
  ];
  for (const [chunks, headers, status, details] of cases) {
    const result = await grpcH2Call(session, MODEL_INFER_PATH, chunks, { headers });
    expect({ status: result.status, details: result.details, httpStatus: result.httpStatus }).toEqual({ status, details, httpStatus: 200 });
  }
  expectSimpleAnswer(await grpcH2Call(session, MODEL_INFER_PATH, [grpcFrame(simple)]));
});

it('answers as grpc-js does: the same bytes for a call, the same status and text for each refusal', async () => {
  const viaGrpcJs = new GrpcFrontend(server.app.service, { leanInfer: false, maxMessageBytes: LIMIT });
  const port = await viaGrpcJs.listen('127.0.0.1', 0);
  const grpcJsSession = http2.connect(`http://127.0.0.1:${port}`);
  try {
    expect(viaGrpcJs.leanInferActive).toBe(false);
    const cases: Array<[Uint8Array[], Record<string, string>]> = [
      [[grpcFrame(simple)], {}],
      [[grpcFrame(zlib.gzipSync(simple), true)], { 'grpc-encoding': 'gzip' }],
      [[grpcFrame(serializeInferRequest({ ...simpleRawRequest('x'), model_name: 'nope' }))], {}],
      [[Uint8Array.of(0, 0xff, 0xff, 0xff, 0xff)], {}],
      [[grpcFrame(simple, true)], { 'grpc-encoding': 'snappy' }],
      [[grpcFrame(simple, true)], { 'grpc-encoding': 'gzip' }],
      [[grpcFrame(zlib.gzipSync(Buffer.alloc(LIMIT + 1)), true)], { 'grpc-encoding': 'gzip' }],
      [[grpcFrame(Buffer.from([0xff, 0xff]))], {}],
      [[], {}],
      [[grpcFrame(simple), grpcFrame(simple)], {}],
    ];
    for (const [chunks, headers] of cases) {
      const [lean, grpcJs] = await Promise.all([grpcH2Call(session, MODEL_INFER_PATH, chunks, { headers }), grpcH2Call(grpcJsSession, MODEL_INFER_PATH, chunks, { headers })]);
      expect({ status: lean.status, details: lean.details, messages: lean.messages }).toEqual({ status: grpcJs.status, details: grpcJs.details, messages: grpcJs.messages });
    }
  } finally {
    grpcJsSession.close();
    await viaGrpcJs.close();
  }
});

it('ends a call at its grpc-timeout with DEADLINE_EXCEEDED, as grpc-js', async () => {
  // The request never half-closes, so only the deadline can end the call.
  const result = await grpcH2Call(session, MODEL_INFER_PATH, [grpcFrame(simple)], { headers: { 'grpc-timeout': '20m' }, end: false });
  expect({ status: result.status, details: result.details }).toEqual({ status: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
});

it('leaves a bad grpc-timeout and a non-gRPC content type to grpc-js, which answers them', async () => {
  const badTimeout = await grpcH2Call(session, MODEL_INFER_PATH, [grpcFrame(simple)], { headers: { 'grpc-timeout': 'soon' } });
  expect({ status: badTimeout.status, details: badTimeout.details }).toEqual({ status: GrpcStatus.INTERNAL, details: 'Invalid grpc-timeout value "soon"' });
  const notGrpc = await grpcH2Call(session, MODEL_INFER_PATH, [grpcFrame(simple)], { headers: { 'content-type': 'text/plain' } });
  expect(notGrpc.httpStatus).toBe(415);
});

it('answers a stream request by request, and survives a client reset in the middle of one', async () => {
  const result = await grpcH2Call(session, MODEL_STREAM_INFER_PATH, [grpcFrame(simple), grpcFrame(zlib.gzipSync(simple), true), grpcFrame(simple)], {
    headers: { 'grpc-encoding': 'gzip' },
  });
  expect({ status: result.status, messages: result.messages.length }).toEqual({ status: GrpcStatus.OK, messages: 3 });
  for (const message of result.messages) expect(deserializeStreamInferResponse(message).infer_response?.id).toBe('lean');

  const reset = session.request({ ':method': 'POST', ':path': MODEL_STREAM_INFER_PATH, 'content-type': 'application/grpc', te: 'trailers' });
  reset.on('error', () => undefined);
  reset.write(grpcFrame(simple));
  reset.write(grpcFrame(simple).subarray(0, 9));
  await new Promise((resolve) => reset.once('data', resolve));
  await new Promise((resolve) => reset.close(http2.constants.NGHTTP2_CANCEL, () => resolve(undefined)));
  expectSimpleAnswer(await grpcH2Call(session, MODEL_INFER_PATH, [grpcFrame(simple)]));
});

it('ends every hostile byte sequence with a gRPC status and keeps serving (fuzz)', async () => {
  const chunk = fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.constant(grpcFrame(simple)),
    fc.constant(grpcFrame(zlib.gzipSync(simple), true)),
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.uint8Array({ maxLength: 40 })).map(([flag, length, body]) => {
      const prefix = Buffer.alloc(5);
      prefix[0] = flag;
      prefix.writeUInt32BE(length % (2 * LIMIT), 1);
      return Buffer.concat([prefix, body]);
    }),
  );
  const encoding = fc.constantFrom(undefined, 'identity', 'gzip', 'deflate', 'br');
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH), fc.array(chunk, { maxLength: 4 }), encoding, async (path, chunks, grpcEncoding) => {
      const result = await grpcH2Call(session, path, chunks, { headers: grpcEncoding ? { 'grpc-encoding': grpcEncoding } : {} });
      expect(result.httpStatus).toBe(200);
      expect(result.status).toBeGreaterThanOrEqual(0);
      expect(result.status).toBeLessThanOrEqual(16);
      expect(result.rstCode).toBe(0);
    }),
    { numRuns: 150 },
  );
  expect(server.app.grpc?.inflateSlots.counts).toEqual({ active: 0, waiting: 0 });
  expectSimpleAnswer(await grpcH2Call(session, MODEL_INFER_PATH, [grpcFrame(simple)]));
});

it("holds other methods' compressed calls until an inflate slot is free", async () => {
  const slots = server.app.grpc!.otherInflateSlots;
  for (let i = 0; i < slots.limit; i++) slots.acquire(() => undefined); // every slot busy
  const acquire = slots.acquire.bind(slots);
  const queued = new Promise<void>((resolve) => {
    slots.acquire = (start) => {
      const ticket = acquire(start);
      resolve();
      return ticket;
    };
  });
  let answered = false;
  const call = grpcH2Call(session, '/inference.GRPCInferenceService/ServerLive', [grpcFrame(zlib.gzipSync(Buffer.alloc(0)), true)], { headers: { 'grpc-encoding': 'gzip' } }).then((result) => {
    answered = true;
    return result;
  });
  await queued;
  expect(slots.counts).toEqual({ active: slots.limit, waiting: 1 });
  expect(answered).toBe(false);
  slots.release(); // the waiting call takes the slot
  const result = await call;
  expect({ status: result.status, message: result.messages[0] }).toEqual({ status: GrpcStatus.OK, message: Buffer.from([0x08, 0x01]) }); // live: true
  for (let i = 1; i < slots.limit; i++) slots.release();
  expect(slots.counts).toEqual({ active: 0, waiting: 0 });
  slots.acquire = acquire;
});

describe('message reading', () => {
  it('frames any split of a byte sequence the same way', () => {
    const messages = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello world')];
    const bytes = Buffer.concat(messages.map((message) => grpcFrame(message)));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 })), (cuts) => {
        const framer = new GrpcMessageFramer(100);
        const out: { payload: Buffer }[] = [];
        const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        for (let i = 1; i < points.length; i++) framer.push(bytes.subarray(points[i - 1], points[i]), out as never);
        expect(out.map((frame) => frame.payload.toString())).toEqual(messages.map(String));
        expect(framer.midMessage).toBe(false);
      }),
    );
  });

  it('inflates at most slots.limit messages at once; the others wait their turn', async () => {
    const slots = new InflateSlots(1);
    slots.acquire(() => undefined); // the one slot, busy
    const waiting = messageBytes({ compressed: true, payload: zlib.gzipSync('abc') }, 'gzip', 100, slots, new AbortController().signal);
    expect(slots.counts).toEqual({ active: 1, waiting: 1 });
    slots.release();
    expect((await waiting).toString()).toBe('abc');
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
  });
});
