/**
 * The inflate gate on the default path (grpc-js serves every method, server/protocol/grpc/inflate-gate.ts): a
 * compressed message takes its slot before grpc-js gets its last byte (and so inflates it) and holds it until its
 * handler has it, and every way a call can end gives each slot back exactly once. Slots are watched through their own methods: every wait is on a slot event, the
 * client's answer or a PING the server answered in order.
 */
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcFrame, grpcH2Call, GrpcH2Result } from '../../bench/lib/grpc-h2';
import type { InflateSlots } from '../../server/protocol/http/compression';
import { INFLATE_GATE_HEADER } from '../../server/protocol/grpc/inflate-gate';
import { serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from '../../server/protocol/grpc/lean-infer';
import { simpleRawRequest, startServer, StartedServer } from './helpers';

const LIMIT = 64 * 1024;
const SERVER_LIVE = '/inference.GRPCInferenceService/ServerLive';
const GZIP = { 'grpc-encoding': 'gzip' };
let server: StartedServer;
let session: http2.ClientHttp2Session;
let slots: InflateSlots;
const simple = (id = 'gate') => serializeInferRequest(simpleRawRequest(id));
const gzipped = (bytes: Uint8Array) => grpcFrame(zlib.gzipSync(bytes), true);

beforeAll(async () => {
  server = await startServer({ loadModels: ['simple'], httpPort: undefined, allowHttp: false, grpcMaxMessageBytes: LIMIT });
  session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
  slots = server.app.grpc!.inflateSlots;
  expect(server.app.grpc!.leanInferActive).toBe(false);
});
afterAll(async () => {
  session?.close();
  await server?.app.stop();
});
afterEach(async () => {
  // A call's gate goes at its stream's close on the server, which may come after the client saw its own close.
  await server.app.grpc!.inflateGates.whenEmpty();
  expect(slots.counts).toEqual({ active: 0, waiting: 0 });
});

/** Resolves once the server has read everything this session sent before (a PING is answered in order). */
const serverCaughtUp = () => new Promise<void>((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));

/**
 * Watches `slots`: `until(active, waiting)` resolves once `active` slots are held and `waiting` calls wait (at once
 * if so now);
 * a release that finds no slot held (a second release of one slot) is counted in `extraReleases`.
 */
function watch(watched: InflateSlots) {
  const proto = Object.getPrototypeOf(watched) as InflateSlots;
  let wanted: { active: number; waiting: number; resolve: () => void } | undefined;
  const state = { extraReleases: 0 };
  const check = () => {
    const { active, waiting } = watched.counts;
    if (active < 0) state.extraReleases++;
    if (wanted && waiting === wanted.waiting && active === wanted.active) {
      const { resolve } = wanted;
      wanted = undefined;
      resolve();
    }
  };
  for (const method of ['acquire', 'cancel', 'release'] as const) {
    (watched as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      const result = (proto[method] as (...a: unknown[]) => unknown).apply(watched, args);
      check();
      return result;
    };
  }
  return {
    state,
    until: (active: number, waiting = 0) =>
      new Promise<void>((resolve) => {
        wanted = { active, waiting, resolve };
        check();
      }),
    stop: () => {
      for (const method of ['acquire', 'cancel', 'release'] as const) delete (watched as unknown as Record<string, unknown>)[method];
    },
  };
}

/** Take `count` slots; the returned function gives them back. */
function occupy(count: number): () => void {
  for (let i = 0; i < count; i++) slots.acquire(() => undefined);
  return () => {
    for (let i = 0; i < count; i++) slots.release();
  };
}

function open(path: string, headers: http2.OutgoingHttpHeaders = GZIP): http2.ClientHttp2Stream {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
  stream.on('error', () => undefined);
  return stream;
}

describe('ModelInfer (grpc-js) holds its slot until the handler has its request', () => {
  it('holds it while the request is decoded and handed to the scheduler, then gives it back', async () => {
    const service = server.app.service;
    const original = service.infer.bind(service);
    const activeAtHandOff: number[] = [];
    const infer = jest.spyOn(service, 'infer').mockImplementation((...args) => {
      activeAtHandOff.push(slots.counts.active);
      return original(...args);
    });
    try {
      const result = await grpcH2Call(session, MODEL_INFER_PATH, [gzipped(simple())], { headers: GZIP });
      expect(result.status).toBe(GrpcStatus.OK);
      expect(activeAtHandOff).toEqual([1]);
    } finally {
      infer.mockRestore();
    }
  });

  it('gives it back when the handler refuses the request (unknown model)', async () => {
    const result = await grpcH2Call(session, MODEL_INFER_PATH, [gzipped(serializeInferRequest({ ...simpleRawRequest('x'), model_name: 'nope' }))], { headers: GZIP });
    expect(result.status).toBe(GrpcStatus.NOT_FOUND);
  });

  it('gives it back once when the handler throws', async () => {
    const watcher = watch(slots);
    const infer = jest.spyOn(server.app.service, 'infer').mockImplementation(() => {
      throw new Error('handler broke');
    });
    try {
      const result = await grpcH2Call(session, MODEL_INFER_PATH, [gzipped(simple())], { headers: GZIP });
      expect(result.status).toBe(GrpcStatus.UNKNOWN); // grpc-js's answer to a throwing handler
      await watcher.until(0);
      expect(watcher.state.extraReleases).toBe(0);
    } finally {
      infer.mockRestore();
      watcher.stop();
    }
  });

  it.each([
    ['a message that does not inflate', () => grpcFrame(Buffer.from('not gzip'), true), GrpcStatus.INTERNAL],
    ['a message that is not a request', () => gzipped(Buffer.from([0xff, 0xff, 0xff])), GrpcStatus.INTERNAL],
    ['a message over the size limit', () => gzipped(Buffer.alloc(LIMIT + 1)), GrpcStatus.RESOURCE_EXHAUSTED],
    ['a declared length over the limit', () => Buffer.concat([Buffer.from([1, 0, 2, 0, 0]), Buffer.alloc(10)]), GrpcStatus.RESOURCE_EXHAUSTED],
  ])('gives it back once when grpc-js refuses %s', async (_name, frame, code) => {
    const watcher = watch(slots);
    try {
      const result = await grpcH2Call(session, MODEL_INFER_PATH, [frame()], { headers: GZIP });
      expect(result.status).toBe(code);
      await watcher.until(0);
      expect(watcher.state.extraReleases).toBe(0);
    } finally {
      watcher.stop();
    }
  });

  it('gives it back once at the deadline of a call that never half-closes', async () => {
    const watcher = watch(slots);
    try {
      const result = await grpcH2Call(session, MODEL_INFER_PATH, [gzipped(simple())], { headers: { ...GZIP, 'grpc-timeout': '30m' }, end: false });
      expect({ status: result.status, details: result.details }).toEqual({ status: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
      await watcher.until(0);
      expect(watcher.state.extraReleases).toBe(0);
    } finally {
      watcher.stop();
    }
  });

  it('gives it back once when the client cancels after sending its message', async () => {
    const watcher = watch(slots);
    try {
      const stream = open(MODEL_INFER_PATH);
      stream.write(gzipped(simple()));
      await watcher.until(1);
      await serverCaughtUp();
      expect(slots.counts).toEqual({ active: 1, waiting: 0 }); // inflated, waiting for the half-close
      stream.close(http2.constants.NGHTTP2_CANCEL);
      await watcher.until(0);
      expect(watcher.state.extraReleases).toBe(0);
    } finally {
      watcher.stop();
    }
  });

  it('takes no slot while a message is still arriving (a client that stalls inside it holds none)', async () => {
    const frame = gzipped(simple());
    const stream = open(MODEL_INFER_PATH);
    const closed = new Promise<void>((resolve) => stream.on('close', resolve));
    stream.write(frame.subarray(0, frame.length - 1));
    await serverCaughtUp();
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await closed;
  });

  it('gives up its place when the client resets the call while its message waits for a slot', async () => {
    const giveBack = occupy(slots.limit);
    const watcher = watch(slots);
    try {
      const stream = open(MODEL_INFER_PATH);
      stream.write(gzipped(simple()));
      await watcher.until(slots.limit, 1);
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await watcher.until(slots.limit);
    } finally {
      watcher.stop();
      giveBack();
    }
  });

  it('a message waiting for a slot reaches grpc-js whole once it has one, in any split', async () => {
    const watcher = watch(slots);
    try {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), async (cuts) => {
        const giveBack = occupy(slots.limit);
        const frame = gzipped(simple('split'));
        const stream = open(MODEL_INFER_PATH);
        const answer = new Promise<{ status?: string; body: Buffer }>((resolve) => {
          const body: Buffer[] = [];
          let status: string | undefined;
          stream.on('data', (chunk: Buffer) => body.push(chunk));
          stream.on('trailers', (trailers) => (status = String(trailers['grpc-status'])));
          stream.on('close', () => resolve({ status, body: Buffer.concat(body) }));
        });
        let offset = 0;
        for (const cut of cuts) {
          if (offset >= frame.length) break;
          stream.write(frame.subarray(offset, offset + cut));
          offset += cut;
        }
        stream.end(frame.subarray(Math.min(offset, frame.length)));
        await watcher.until(slots.limit, 1); // its last byte arrived: it waits, grpc-js has not got all of it
        giveBack();
        const { status, body } = await answer;
        expect(status).toBe(String(GrpcStatus.OK));
        expect(body.length).toBeGreaterThan(5);
        await watcher.until(0);
      }),
      { numRuns: 25 },
    );
    } finally {
      watcher.stop();
    }
  });
});

describe('ModelStreamInfer (grpc-js): every compressed message of the stream takes a slot', () => {
  it('lets one message at a time through a single free slot, and answers each', async () => {
    const giveBack = occupy(slots.limit - 1);
    try {
      const messages = [0, 1, 2, 3].map((i) => gzipped(simple(`s${i}`)));
      const result = await grpcH2Call(session, MODEL_STREAM_INFER_PATH, messages, { headers: GZIP });
      expect({ status: result.status, answers: result.messages.length }).toEqual({ status: GrpcStatus.OK, answers: 4 });
      expect(slots.counts).toEqual({ active: slots.limit - 1, waiting: 0 });
    } finally {
      giveBack();
    }
  });

  type Ending = 'half-close' | 'cancel' | 'deadline';
  it('gives every slot back exactly once however the stream ends, in any split (fuzz)', async () => {
    const watcher = watch(slots);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
          fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
          fc.constantFrom<Ending>('half-close', 'cancel', 'deadline'),
          fc.integer({ min: 0, max: 3 }),
          async (compressed, cuts, ending, busy) => {
            const giveBack = occupy(busy);
            const bytes = Buffer.concat(compressed.map((c, i) => (c ? gzipped(simple(`m${i}`)) : grpcFrame(simple(`m${i}`)))));
            const chunks: Buffer[] = [];
            for (let offset = 0, i = 0; offset < bytes.length; i++) {
              const cut = cuts[i % cuts.length];
              chunks.push(bytes.subarray(offset, offset + cut));
              offset += cut;
            }
            let result: GrpcH2Result;
            if (ending === 'cancel') {
              const stream = open(MODEL_STREAM_INFER_PATH);
              const closed = new Promise<void>((resolve) => stream.on('close', resolve));
              for (const chunk of chunks) stream.write(chunk);
              await serverCaughtUp();
              stream.close(http2.constants.NGHTTP2_CANCEL);
              await closed;
            } else {
              const headers = ending === 'deadline' ? { ...GZIP, 'grpc-timeout': '40m' } : GZIP;
              result = await grpcH2Call(session, MODEL_STREAM_INFER_PATH, chunks, { headers, end: ending === 'half-close' });
              if (ending === 'half-close') expect({ status: result.status, answers: result.messages.length }).toEqual({ status: GrpcStatus.OK, answers: compressed.length });
              else expect(result.status).toBe(GrpcStatus.DEADLINE_EXCEEDED);
            }
            await watcher.until(busy);
            giveBack();
            expect(watcher.state.extraReleases).toBe(0);
            await server.app.grpc!.inflateGates.whenEmpty();
          },
        ),
        { numRuns: 40 },
      );
    } finally {
      watcher.stop();
    }
  });
});

describe("other methods' compressed calls", () => {
  it("cannot give back another call's slot by sending the gate's metadata name", async () => {
    const watcher = watch(server.app.grpc!.otherInflateSlots);
    const holder = open(SERVER_LIVE);
    try {
      holder.write(gzipped(Buffer.alloc(0))); // inflated, held until its half-close
      await watcher.until(1);
      for (let token = 0; token < 20; token++) {
        const forged = await grpcH2Call(session, SERVER_LIVE, [gzipped(Buffer.alloc(0))], { headers: { ...GZIP, [INFLATE_GATE_HEADER]: String(token) } });
        expect(forged.status).toBe(GrpcStatus.OK);
        const plain = await grpcH2Call(session, SERVER_LIVE, [grpcFrame(Buffer.alloc(0))], { headers: { [INFLATE_GATE_HEADER]: String(token) } });
        expect(plain.status).toBe(GrpcStatus.OK);
      }
      expect(server.app.grpc!.otherInflateSlots.counts).toEqual({ active: 1, waiting: 0 });
      holder.close(http2.constants.NGHTTP2_CANCEL);
      await watcher.until(0);
      expect(watcher.state.extraReleases).toBe(0);
    } finally {
      watcher.stop();
    }
  });
});

describe('server shutdown', () => {
  it('stops while messages hold and wait for slots, and every slot and gate goes', async () => {
    const own = await startServer({ loadModels: ['simple'], httpPort: undefined, allowHttp: false, grpcMaxMessageBytes: LIMIT, exitTimeoutSecs: 0 });
    const ownSlots = own.app.grpc!.inflateSlots;
    const ownSession = http2.connect(`http://127.0.0.1:${own.grpcPort}`);
    ownSession.on('error', () => undefined);
    const watcher = watch(ownSlots);
    try {
      for (let i = 0; i <= ownSlots.limit; i++) {
        const stream = ownSession.request({ ':method': 'POST', ':path': MODEL_INFER_PATH, 'content-type': 'application/grpc', te: 'trailers', ...GZIP });
        stream.on('error', () => undefined);
        stream.write(gzipped(simple(`held${i}`))); // never half-closed: each holds its slot, the last one waits
      }
      await watcher.until(ownSlots.limit, 1);
      await own.app.stop();
      await own.app.grpc!.inflateGates.whenEmpty();
      expect(ownSlots.counts).toEqual({ active: 0, waiting: 0 });
      expect(watcher.state.extraReleases).toBe(0);
    } finally {
      watcher.stop();
      ownSession.destroy();
    }
  });
});
