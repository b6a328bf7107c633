/**
 * The lean path (lean-infer.ts) holds a compressed message's inflate slot until its handler has it, as the default
 * path's gate does (inflate-gate.test.ts): a unary request inflated and waiting for its half-close keeps its slot, so
 * at most `inflateSlots.limit` inflated messages wait for a handler at once; every way a call ends gives it back once.
 */
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcFrame, grpcH2Call } from '../../bench/lib/grpc-h2';
import type { InflateSlots } from '../../server/protocol/http/compression';
import { serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from '../../server/protocol/grpc/lean-infer';
import { simpleRawRequest, startServer, StartedServer } from './helpers';

const LIMIT = 64 * 1024;
const GZIP = { 'grpc-encoding': 'gzip' };
let server: StartedServer;
let session: http2.ClientHttp2Session;
let slots: InflateSlots;
const gzipped = (id: string) => grpcFrame(zlib.gzipSync(serializeInferRequest(simpleRawRequest(id))), true);

beforeAll(async () => {
  server = await startServer({ loadModels: ['simple'], httpPort: undefined, allowHttp: false, grpcMaxMessageBytes: LIMIT, grpcLeanInfer: true });
  session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
  slots = server.app.grpc!.inflateSlots;
  expect(server.app.grpc!.leanInferActive).toBe(true);
});
afterAll(async () => {
  session?.close();
  await server?.app.stop();
});
afterEach(() => expect(slots.counts).toEqual({ active: 0, waiting: 0 }));

/** Resolves once `slots` holds `active` slots (after the acquire or release that made it so). */
function slotsAt(active: number, watched = slots): Promise<void> {
  const slots = watched;
  const proto = Object.getPrototypeOf(slots) as InflateSlots;
  return new Promise((resolve) => {
    const check = () => {
      if (slots.counts.active !== active) return false;
      for (const method of ['acquire', 'release'] as const) delete (slots as unknown as Record<string, unknown>)[method];
      resolve();
      return true;
    };
    if (check()) return;
    for (const method of ['acquire', 'release'] as const) {
      (slots as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        const result = (proto[method] as (...a: unknown[]) => unknown).apply(slots, args);
        check();
        return result;
      };
    }
  });
}

/** The inflate slots held each time `method` of the service is called. */
function activeAt(method: 'infer' | 'inferStream'): { seen: number[]; restore: () => void } {
  const service = server.app.service;
  const original = (service[method] as (...args: unknown[]) => unknown).bind(service);
  const seen: number[] = [];
  const spy = jest.spyOn(service, method).mockImplementation(((...args: unknown[]) => {
    seen.push(slots.counts.active);
    return original(...args);
  }) as never);
  return { seen, restore: () => spy.mockRestore() };
}

describe('lean ModelInfer', () => {
  it('holds the inflated request\'s slot until the handler has it at half-close, then gives it back', async () => {
    const spy = activeAt('infer');
    try {
      const result = await grpcH2Call(session, MODEL_INFER_PATH, [gzipped('held')], { headers: GZIP });
      expect(result.status).toBe(GrpcStatus.OK);
      expect(spy.seen).toEqual([1]);
    } finally {
      spy.restore();
    }
  });

  it('gives it back when the handler refuses the request (unknown model)', async () => {
    const frame = grpcFrame(zlib.gzipSync(serializeInferRequest({ ...simpleRawRequest('x'), model_name: 'nope' })), true);
    const result = await grpcH2Call(session, MODEL_INFER_PATH, [frame], { headers: GZIP });
    expect(result.status).toBe(GrpcStatus.NOT_FOUND);
  });

  it('gives it back when the client cancels a call that never half-closed', async () => {
    const stream = session.request({ ':method': 'POST', ':path': MODEL_INFER_PATH, 'content-type': 'application/grpc', te: 'trailers', ...GZIP });
    stream.on('error', () => undefined);
    const taken = slotsAt(1);
    stream.write(gzipped('cancelled'));
    await taken;
    const released = slotsAt(0);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await released;
  });

  it('gives it back at the deadline of a call that never half-closes', async () => {
    const result = await grpcH2Call(session, MODEL_INFER_PATH, [gzipped('deadline')], { headers: { ...GZIP, 'grpc-timeout': '30m' }, end: false });
    expect({ status: result.status, details: result.details }).toEqual({ status: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
  });

  it('gives it back when a second request message ends the call', async () => {
    const result = await grpcH2Call(session, MODEL_INFER_PATH, [gzipped('one'), gzipped('two')], { headers: GZIP });
    expect(result.status).toBe(GrpcStatus.UNIMPLEMENTED);
  });

  it('a request whose slot is held by calls waiting for their half-close waits, then is answered', async () => {
    const open: http2.ClientHttp2Stream[] = [];
    try {
      for (let i = 0; i < slots.limit; i++) {
        const stream = session.request({ ':method': 'POST', ':path': MODEL_INFER_PATH, 'content-type': 'application/grpc', te: 'trailers', ...GZIP });
        stream.on('error', () => undefined);
        const taken = slotsAt(i + 1);
        stream.write(gzipped(`open${i}`));
        open.push(stream);
        await taken;
      }
      const spy = activeAt('infer');
      try {
        const answer = grpcH2Call(session, MODEL_INFER_PATH, [gzipped('last')], { headers: GZIP });
        const freed = slotsAt(slots.limit - 1);
        open.shift()!.close(http2.constants.NGHTTP2_CANCEL); // one holder gone: the waiting request takes its slot
        await freed;
        expect((await answer).status).toBe(GrpcStatus.OK);
        // Every hand-off holds every slot (the cancelled holder's request, which Node ends before it closes the
        // stream, may reach the handler too, still holding its own).
        expect(spy.seen.length).toBeGreaterThan(0);
        expect(spy.seen.every((active) => active === slots.limit)).toBe(true);
      } finally {
        spy.restore();
      }
    } finally {
      const released = slotsAt(0);
      for (const stream of open) stream.close(http2.constants.NGHTTP2_CANCEL);
      await released;
    }
  });
});

describe('lean ModelStreamInfer', () => {
  it("holds each message's slot until the handler has it, and answers each", async () => {
    const spy = activeAt('inferStream');
    try {
      const result = await grpcH2Call(session, MODEL_STREAM_INFER_PATH, [gzipped('s0'), gzipped('s1'), gzipped('s2')], { headers: GZIP });
      expect({ status: result.status, answers: result.messages.length }).toEqual({ status: GrpcStatus.OK, answers: 3 });
      expect(spy.seen).toEqual([1, 1, 1]);
    } finally {
      spy.restore();
    }
  });
});

describe('server shutdown', () => {
  it('stops while requests hold and wait for slots, and every slot goes back', async () => {
    const own = await startServer({ loadModels: ['simple'], httpPort: undefined, allowHttp: false, grpcMaxMessageBytes: LIMIT, grpcLeanInfer: true, exitTimeoutSecs: 0 });
    const ownSlots = own.app.grpc!.inflateSlots;
    const ownSession = http2.connect(`http://127.0.0.1:${own.grpcPort}`);
    ownSession.on('error', () => undefined);
    try {
      const queued = new Promise<void>((resolve) => {
        const proto = Object.getPrototypeOf(ownSlots) as InflateSlots;
        (ownSlots as unknown as Record<string, unknown>).acquire = (...args: unknown[]) => {
          const result = (proto.acquire as (...a: unknown[]) => unknown).apply(ownSlots, args);
          if (ownSlots.counts.waiting === 1) resolve();
          return result;
        };
      });
      for (let i = 0; i <= ownSlots.limit; i++) {
        const stream = ownSession.request({ ':method': 'POST', ':path': MODEL_INFER_PATH, 'content-type': 'application/grpc', te: 'trailers', ...GZIP });
        stream.on('error', () => undefined);
        stream.write(gzipped(`held${i}`)); // never half-closed: each holds its slot once inflated, the last one waits
      }
      await queued;
      delete (ownSlots as unknown as Record<string, unknown>).acquire;
      const released = slotsAt(0, ownSlots); // the streams' close follows their connection's destruction
      await own.app.stop();
      await released;
      expect(ownSlots.counts).toEqual({ active: 0, waiting: 0 });
    } finally {
      delete (ownSlots as unknown as Record<string, unknown>).acquire;
      ownSession.destroy();
    }
  });
});
