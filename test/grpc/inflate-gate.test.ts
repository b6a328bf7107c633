/**
 * The inflate gate on the default path (grpc-js serves every method, server/protocol/grpc/inflate-gate.ts): a
 * compressed message takes its slot before grpc-js gets its last byte (and so inflates it) and holds it until its
 * handler has it, and every way a call can end gives each slot back exactly once. Slots are watched through their own
 * methods (inflate-helpers.ts).
 */
import * as http2 from 'node:http2';
import fc from 'fast-check';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcFrame, grpcH2Call, GrpcH2Result } from '../../bench/lib/grpc-h2';
import { INFLATE_GATE_HEADER } from '../../server/protocol/grpc/inflate-gates';
import { serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from '../../server/protocol/grpc/lean-infer';
import { simpleRawRequest } from './helpers';
import { GZIP, gzipped, inflateSuite, InflateServer, SERVER_LIVE, watchSlots } from './inflate-helpers';

const LIMIT = 64 * 1024;
const simple = (id = 'gate') => serializeInferRequest(simpleRawRequest(id));
const suite = inflateSuite({ grpcMaxMessageBytes: LIMIT });

describe('ModelInfer (grpc-js) holds its slot until the handler has its request', () => {
  it('holds it while the request is decoded and handed to the scheduler, then gives it back', async () => {
    const activeAtHandOff = suite.activeAt('infer');
    try {
      const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzipped(simple())], { headers: GZIP });
      expect(result.status).toBe(GrpcStatus.OK);
      expect(activeAtHandOff.seen).toEqual([1]);
    } finally {
      activeAtHandOff.restore();
    }
  });

  it('gives it back when the handler refuses the request (unknown model)', async () => {
    const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzipped(serializeInferRequest({ ...simpleRawRequest('x'), model_name: 'nope' }))], { headers: GZIP });
    expect(result.status).toBe(GrpcStatus.NOT_FOUND);
  });

  it('gives it back once when the handler throws', async () => {
    const infer = jest.spyOn(suite.server.app.service, 'infer').mockImplementation(() => {
      throw new Error('handler broke');
    });
    try {
      const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzipped(simple())], { headers: GZIP });
      expect(result.status).toBe(GrpcStatus.UNKNOWN); // grpc-js's answer to a throwing handler
      await suite.watcher.until(0);
      expect(suite.watcher.state.extraReleases).toBe(0);
    } finally {
      infer.mockRestore();
    }
  });

  it.each([
    ['a message that does not inflate', () => grpcFrame(Buffer.from('not gzip'), true), GrpcStatus.INTERNAL],
    ['a message that is not a request', () => gzipped(Buffer.from([0xff, 0xff, 0xff])), GrpcStatus.INTERNAL],
    ['a message over the size limit', () => gzipped(Buffer.alloc(LIMIT + 1)), GrpcStatus.RESOURCE_EXHAUSTED],
    ['a declared length over the limit', () => Buffer.concat([Buffer.from([1, 0, 2, 0, 0]), Buffer.alloc(10)]), GrpcStatus.RESOURCE_EXHAUSTED],
  ])('gives it back once when grpc-js refuses %s', async (_name, frame, code) => {
    const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [frame()], { headers: GZIP });
    expect(result.status).toBe(code);
    await suite.watcher.until(0);
    expect(suite.watcher.state.extraReleases).toBe(0);
  });

  it('gives it back once at the deadline of a call that never half-closes', async () => {
    const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzipped(simple())], { headers: { ...GZIP, 'grpc-timeout': '30m' }, end: false });
    expect({ status: result.status, details: result.details }).toEqual({ status: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    await suite.watcher.until(0);
    expect(suite.watcher.state.extraReleases).toBe(0);
  });

  it('gives it back once when the client cancels after sending its message', async () => {
    const stream = suite.open(MODEL_INFER_PATH);
    stream.write(gzipped(simple()));
    await suite.watcher.until(1);
    await suite.caughtUp();
    expect(suite.slots.counts).toEqual({ active: 1, waiting: 0 }); // inflated, waiting for the half-close
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await suite.watcher.until(0);
    expect(suite.watcher.state.extraReleases).toBe(0);
  });

  it('takes no slot while a message is still arriving (a client that stalls inside it holds none)', async () => {
    const frame = gzipped(simple());
    const stream = suite.open(MODEL_INFER_PATH);
    const closed = new Promise<void>((resolve) => stream.on('close', resolve));
    stream.write(frame.subarray(0, frame.length - 1));
    await suite.caughtUp();
    expect(suite.slots.counts).toEqual({ active: 0, waiting: 0 });
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await closed;
  });

  it('gives up its place when the client resets the call while its message waits for a slot', async () => {
    const { slots, watcher } = suite;
    const giveBack = suite.occupy(slots.limit);
    try {
      const stream = suite.open(MODEL_INFER_PATH);
      stream.write(gzipped(simple()));
      await watcher.until(slots.limit, 1);
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await watcher.until(slots.limit);
    } finally {
      giveBack();
    }
  });

  it('a message waiting for a slot reaches grpc-js whole once it has one, in any split', async () => {
    const { slots, watcher } = suite;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }), async (cuts) => {
        const giveBack = suite.occupy(slots.limit);
        const frame = gzipped(simple('split'));
        const stream = suite.open(MODEL_INFER_PATH);
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
  });
});

describe('ModelStreamInfer (grpc-js): every compressed message of the stream takes a slot', () => {
  it('lets one message at a time through a single free slot, and answers each', async () => {
    const giveBack = suite.occupy(suite.slots.limit - 1);
    try {
      const messages = [0, 1, 2, 3].map((i) => gzipped(simple(`s${i}`)));
      const result = await grpcH2Call(suite.session, MODEL_STREAM_INFER_PATH, messages, { headers: GZIP });
      expect({ status: result.status, answers: result.messages.length }).toEqual({ status: GrpcStatus.OK, answers: 4 });
      expect(suite.slots.counts).toEqual({ active: suite.slots.limit - 1, waiting: 0 });
    } finally {
      giveBack();
    }
  });

  type Ending = 'half-close' | 'cancel' | 'deadline';
  it('gives every slot back exactly once however the stream ends, in any split (fuzz)', async () => {
    const { watcher } = suite;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        fc.constantFrom<Ending>('half-close', 'cancel', 'deadline'),
        fc.integer({ min: 0, max: 3 }),
        async (compressed, cuts, ending, busy) => {
          const giveBack = suite.occupy(busy);
          const bytes = Buffer.concat(compressed.map((c, i) => (c ? gzipped(simple(`m${i}`)) : grpcFrame(simple(`m${i}`)))));
          const chunks: Buffer[] = [];
          for (let offset = 0, i = 0; offset < bytes.length; i++) {
            const cut = cuts[i % cuts.length];
            chunks.push(bytes.subarray(offset, offset + cut));
            offset += cut;
          }
          let result: GrpcH2Result;
          if (ending === 'cancel') {
            const stream = suite.open(MODEL_STREAM_INFER_PATH);
            const closed = new Promise<void>((resolve) => stream.on('close', resolve));
            for (const chunk of chunks) stream.write(chunk);
            await suite.caughtUp();
            stream.close(http2.constants.NGHTTP2_CANCEL);
            await closed;
          } else {
            const headers = ending === 'deadline' ? { ...GZIP, 'grpc-timeout': '40m' } : GZIP;
            result = await grpcH2Call(suite.session, MODEL_STREAM_INFER_PATH, chunks, { headers, end: ending === 'half-close' });
            if (ending === 'half-close') expect({ status: result.status, answers: result.messages.length }).toEqual({ status: GrpcStatus.OK, answers: compressed.length });
            else expect(result.status).toBe(GrpcStatus.DEADLINE_EXCEEDED);
          }
          await watcher.until(busy);
          giveBack();
          expect(watcher.state.extraReleases).toBe(0);
          await suite.server.app.grpc!.inflateGates.whenEmpty();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("other methods' compressed calls", () => {
  it("cannot give back another call's slot by sending the gate's metadata name", async () => {
    const other = suite.server.app.grpc!.otherInflateSlots;
    const watcher = watchSlots(other);
    const holder = suite.open(SERVER_LIVE);
    try {
      holder.write(gzipped(Buffer.alloc(0))); // inflated, held until its half-close
      await watcher.until(1);
      for (let token = 0; token < 20; token++) {
        const forged = await grpcH2Call(suite.session, SERVER_LIVE, [gzipped(Buffer.alloc(0))], { headers: { ...GZIP, [INFLATE_GATE_HEADER]: String(token) } });
        expect(forged.status).toBe(GrpcStatus.OK);
        const plain = await grpcH2Call(suite.session, SERVER_LIVE, [grpcFrame(Buffer.alloc(0))], { headers: { [INFLATE_GATE_HEADER]: String(token) } });
        expect(plain.status).toBe(GrpcStatus.OK);
      }
      expect(other.counts).toEqual({ active: 1, waiting: 0 });
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
    const own = await new InflateServer({ grpcMaxMessageBytes: LIMIT, exitTimeoutSecs: 0 }).start();
    const { slots, watcher } = own;
    own.session.on('error', () => undefined);
    try {
      for (let i = 0; i <= slots.limit; i++) {
        own.open(MODEL_INFER_PATH).write(gzipped(simple(`held${i}`))); // never half-closed: each holds its slot, the last one waits
      }
      await watcher.until(slots.limit, 1);
      await own.server.app.stop();
      await own.expectSettled(); // every gate gone, every slot back
      expect(watcher.state.extraReleases).toBe(0);
    } finally {
      watcher.stop();
      own.session.destroy();
    }
  });
});
