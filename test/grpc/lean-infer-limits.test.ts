/**
 * The bounds around compressed gRPC calls and closed streams (review findings on the lean path): a client's reset of
 * a call waiting for an inflate slot, slots held by calls that never half-close, deadlines while waiting, streams Node
 * closed while the lean call had them paused, calls over before their message inflates, and declared lengths that
 * must not reserve memory. Every wait is on an event; slots kept busy by the test make the waits deterministic.
 */
import { getEventListeners } from 'node:events';
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcFrame, grpcH2Call } from '../../bench/lib/grpc-h2';
import { InflateSlots } from '../../server/protocol/http/compression';
import { serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { GrpcCallStatus, GrpcMessageFramer, messageBytes } from '../../server/protocol/grpc/message-reader';
import { MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from '../../server/protocol/grpc/lean-infer';
import { simpleRawRequest, startServer, StartedServer } from './helpers';
import { caughtUp, GZIP, gzipped, gzippedSimple, occupy, openCall, SERVER_LIVE } from './inflate-helpers';

const LIMIT = 64 * 1024;
const LIVE_TRUE = Buffer.from([0x08, 0x01]);
let server: StartedServer;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  server = await startServer({ loadModels: ['simple'], httpPort: undefined, allowHttp: false, grpcMaxMessageBytes: LIMIT, grpcLeanInfer: true });
  session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
});
afterAll(async () => {
  session?.close();
  await server?.app.stop();
});

/** Take every slot; the returned function gives them back. */
const occupyAll = (slots: InflateSlots) => occupy(slots, slots.limit);

/** Resolves on the next call of `slots[method]` (after it ran), with its result. */
function nextCall<K extends 'acquire' | 'cancel' | 'release'>(slots: InflateSlots, method: K): Promise<void> {
  const original = slots[method].bind(slots) as (...args: unknown[]) => unknown;
  return new Promise((resolve) => {
    (slots as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      delete (slots as unknown as Record<string, unknown>)[method]; // back to the prototype's
      const result = original(...args);
      resolve();
      return result;
    };
  });
}

async function expectServing(): Promise<void> {
  const live = await grpcH2Call(session, SERVER_LIVE, [gzipped(Buffer.alloc(0))], { headers: GZIP });
  expect({ status: live.status, message: live.messages[0] }).toEqual({ status: GrpcStatus.OK, message: LIVE_TRUE });
  const infer = await grpcH2Call(session, MODEL_INFER_PATH, [gzippedSimple('lean')], { headers: GZIP });
  expect(infer.status).toBe(GrpcStatus.OK);
}

describe("other methods' compressed calls (each message handed to grpc-js once a slot is free)", () => {
  it('survives a client reset with an error code while a message waits for a slot', async () => {
    const slots = server.app.grpc!.otherInflateSlots;
    const giveBack = occupyAll(slots);
    try {
      const queued = nextCall(slots, 'acquire');
      const stream = openCall(session, SERVER_LIVE);
      stream.write(gzipped(Buffer.alloc(0)));
      await queued;
      expect(slots.counts).toEqual({ active: slots.limit, waiting: 1 });
      const cancelled = nextCall(slots, 'cancel');
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await cancelled; // the server saw the reset (an unhandled 'error' would have thrown before this)
      expect(slots.counts).toEqual({ active: slots.limit, waiting: 0 });
    } finally {
      giveBack();
    }
    await expectServing();
  });

  it('takes no slot for a call that sends headers and no message', async () => {
    const slots = server.app.grpc!.otherInflateSlots;
    const stream = openCall(session, SERVER_LIVE);
    try {
      await caughtUp(session); // the server has the call's headers
      expect(slots.counts).toEqual({ active: 0, waiting: 0 });
      await expectServing(); // every slot still free for other calls
    } finally {
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }
  });

  it("holds the slot while the message waits for its handler (no half-close), and gives it back at the client's reset", async () => {
    const slots = server.app.grpc!.otherInflateSlots;
    const acquired = nextCall(slots, 'acquire');
    const stream = openCall(session, SERVER_LIVE);
    stream.write(gzipped(Buffer.alloc(0)));
    await acquired;
    await caughtUp(session);
    expect(slots.counts).toEqual({ active: 1, waiting: 0 }); // inflated by grpc-js, not yet handed to ServerLive
    const released = nextCall(slots, 'release');
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await released;
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
    await expectServing();
  });

  it("answers a waiting call DEADLINE_EXCEEDED at its grpc-timeout, as grpc-js, and drops it from the queue", async () => {
    const slots = server.app.grpc!.otherInflateSlots;
    const giveBack = occupyAll(slots);
    try {
      const result = await grpcH2Call(session, SERVER_LIVE, [gzipped(Buffer.alloc(0))], { headers: { ...GZIP, 'grpc-timeout': '20m' } });
      expect({ status: result.status, details: result.details, httpStatus: result.httpStatus }).toEqual({ status: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded', httpStatus: 200 });
      expect(slots.counts).toEqual({ active: slots.limit, waiting: 0 });
    } finally {
      giveBack();
    }
    await expectServing();
  });
});

describe('lean inference calls', () => {
  it('drops a stream Node closed while the call had it paused for inflation (no write to a closed stream)', async () => {
    const slots = server.app.grpc!.inflateSlots;
    const inferStream = jest.spyOn(server.app.service, 'inferStream');
    const giveBack = occupyAll(slots);
    try {
      const queued = nextCall(slots, 'acquire');
      const stream = openCall(session, MODEL_STREAM_INFER_PATH);
      stream.write(gzippedSimple('paused'));
      await queued; // the call waits for a slot, its stream paused
      // Buffered by Node behind the pause: were it delivered, its answer (an error) would be written at once.
      stream.write(grpcFrame(serializeInferRequest({ ...simpleRawRequest('x'), model_name: 'nope' })));
      await new Promise<void>((resolve) => stream.close(http2.constants.NGHTTP2_NO_ERROR, resolve));
      await caughtUp(session); // Node has marked the server's stream closed; it emits no 'close' while paused
    } finally {
      giveBack(); // the waiting message takes a slot (it starts inflating on a later tick)
    }
    await nextCall(slots, 'release'); // it inflated and gave the slot back; the call then sees its stream closed
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
    await caughtUp(session); // what the inflated message led to has run
    expect(inferStream).not.toHaveBeenCalled(); // the closed stream's request never reached the handler
    inferStream.mockRestore();
    await expectServing();
  });

  it('gives back the places of calls already over (deadline) instead of inflating their messages', async () => {
    const slots = server.app.grpc!.inflateSlots;
    const giveBack = occupyAll(slots);
    try {
      const calls = [0, 1].map(() => grpcH2Call(session, MODEL_INFER_PATH, [gzippedSimple('lean')], { headers: { ...GZIP, 'grpc-timeout': '20m' } }));
      for (const result of await Promise.all(calls)) {
        expect({ status: result.status, details: result.details }).toEqual({ status: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
      }
      expect(slots.counts).toEqual({ active: slots.limit, waiting: 0 });
    } finally {
      giveBack();
    }
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
    await expectServing();
  });
});

describe('message reading bounds', () => {
  it("stops a message waiting for a slot, or inflating, when its call is over, and gives the slot back", async () => {
    const slots = new InflateSlots(1);
    slots.acquire(() => undefined);
    const waitingEnd = new AbortController();
    const waiting = messageBytes({ compressed: true, payload: zlib.gzipSync('abc') }, 'gzip', 100, slots, waitingEnd.signal);
    expect(slots.counts).toEqual({ active: 1, waiting: 1 });
    waitingEnd.abort();
    await expect(waiting).rejects.toEqual(new GrpcCallStatus(GrpcStatus.CANCELLED, 'Cancelled'));
    expect(slots.counts).toEqual({ active: 1, waiting: 0 });
    slots.release();

    const inflatingEnd = new AbortController();
    const acquired = nextCall(slots, 'acquire');
    const inflating = messageBytes({ compressed: true, payload: zlib.gzipSync(Buffer.alloc(2 ** 24)) }, 'gzip', 2 ** 25, slots, inflatingEnd.signal);
    await acquired;
    inflatingEnd.abort();
    await expect(inflating).rejects.toBeInstanceOf(GrpcCallStatus);
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
    await expect(messageBytes({ compressed: true, payload: zlib.deflateSync('abc') }, 'deflate', 100, slots, new AbortController().signal)).resolves.toEqual(Buffer.from('abc'));
  });

  it('leaves no abort listener on the call per message (a long compressed stream would pile them up)', async () => {
    const slots = new InflateSlots(1);
    const callEnd = new AbortController();
    for (let i = 0; i < 3; i++) {
      await expect(messageBytes({ compressed: true, payload: zlib.gzipSync('abc') }, 'gzip', 100, slots, callEnd.signal)).resolves.toEqual(Buffer.from('abc'));
    }
    expect(getEventListeners(callEnd.signal, 'abort')).toHaveLength(0);
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
  });

  it('allocates as bytes arrive, not the declared length up front', () => {
    const declared = 64 * 2 ** 20;
    const message = Buffer.alloc(declared, 7);
    const framer = new GrpcMessageFramer(declared);
    const allocUnsafe = jest.spyOn(Buffer, 'allocUnsafe');
    try {
      const out: { payload: Buffer }[] = [];
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(declared, 1);
      framer.push(Buffer.concat([prefix, message.subarray(0, 10)]), out as never);
      expect(Math.max(0, ...allocUnsafe.mock.calls.map(([size]) => size))).toBeLessThan(declared / 100);
      for (let offset = 10; offset < declared; offset += 2 ** 20) framer.push(message.subarray(offset, Math.min(declared, offset + 2 ** 20)), out as never);
      expect(out.map((frame) => frame.payload.equals(message))).toEqual([true]);
    } finally {
      allocUnsafe.mockRestore();
    }
  });
});

describe('the default server (grpc-js serves ModelInfer)', () => {
  let plain: StartedServer;
  let plainSession: http2.ClientHttp2Session;
  beforeAll(async () => {
    plain = await startServer({ loadModels: ['simple'], httpPort: undefined, allowHttp: false, grpcMaxMessageBytes: LIMIT });
    plainSession = http2.connect(`http://127.0.0.1:${plain.grpcPort}`);
  });
  afterAll(async () => {
    plainSession?.close();
    await plain?.app.stop();
  });

  it('a compressed ModelInfer waits for an inference inflate slot, then grpc-js answers it', async () => {
    const grpc = plain.app.grpc!;
    expect(grpc.leanInferActive).toBe(false);
    const giveBack = occupyAll(grpc.inflateSlots);
    let answered: Promise<Awaited<ReturnType<typeof grpcH2Call>>> | undefined;
    try {
      const queued = nextCall(grpc.inflateSlots, 'acquire');
      answered = grpcH2Call(plainSession, MODEL_INFER_PATH, [gzippedSimple('lean')], { headers: GZIP });
      await queued;
      expect(grpc.inflateSlots.counts).toEqual({ active: grpc.inflateSlots.limit, waiting: 1 });
      expect(grpc.otherInflateSlots.counts).toEqual({ active: 0, waiting: 0 });
    } finally {
      giveBack();
    }
    expect((await answered!).status).toBe(GrpcStatus.OK);
    expect(grpc.inflateSlots.counts).toEqual({ active: 0, waiting: 0 });
  });
});
