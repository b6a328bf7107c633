/**
 * The lean path (lean-infer.ts) holds a compressed message's inflate slot until its handler has it, as the default
 * path's gate does (inflate-gate.test.ts): a unary request inflated and waiting for its half-close keeps its slot, so
 * at most `inflateSlots.limit` inflated messages wait for a handler at once; every way a call ends gives it back once.
 */
import * as http2 from 'node:http2';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcH2Call } from '../../bench/lib/grpc-h2';
import { serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from '../../server/protocol/grpc/lean-infer';
import { simpleRawRequest } from './helpers';
import { GZIP, gzipped, gzippedSimple, inflateSuite, InflateServer } from './inflate-helpers';

const LIMIT = 64 * 1024;
const suite = inflateSuite({ grpcMaxMessageBytes: LIMIT, grpcLeanInfer: true });

describe('lean ModelInfer', () => {
  it('holds the inflated request\'s slot until the handler has it at half-close, then gives it back', async () => {
    const spy = suite.activeAt('infer');
    try {
      const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzippedSimple('held')], { headers: GZIP });
      expect(result.status).toBe(GrpcStatus.OK);
      expect(spy.seen).toEqual([1]);
    } finally {
      spy.restore();
    }
  });

  it('gives it back when the handler refuses the request (unknown model)', async () => {
    const frame = gzipped(serializeInferRequest({ ...simpleRawRequest('x'), model_name: 'nope' }));
    const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [frame], { headers: GZIP });
    expect(result.status).toBe(GrpcStatus.NOT_FOUND);
  });

  it('gives it back when the client cancels a call that never half-closed', async () => {
    const stream = suite.open(MODEL_INFER_PATH);
    const taken = suite.watcher.until(1);
    stream.write(gzippedSimple('cancelled'));
    await taken;
    const released = suite.watcher.until(0);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await released;
  });

  it('gives it back at the deadline of a call that never half-closes', async () => {
    const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzippedSimple('deadline')], { headers: { ...GZIP, 'grpc-timeout': '30m' }, end: false });
    expect({ status: result.status, details: result.details }).toEqual({ status: GrpcStatus.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
  });

  it('gives it back when a second request message ends the call', async () => {
    const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzippedSimple('one'), gzippedSimple('two')], { headers: GZIP });
    expect(result.status).toBe(GrpcStatus.UNIMPLEMENTED);
  });

  it('a request whose slot is held by calls waiting for their half-close waits, then is answered', async () => {
    const { slots, watcher } = suite;
    const open: http2.ClientHttp2Stream[] = [];
    try {
      for (let i = 0; i < slots.limit; i++) {
        const stream = suite.open(MODEL_INFER_PATH);
        const taken = watcher.until(i + 1);
        stream.write(gzippedSimple(`open${i}`));
        open.push(stream);
        await taken;
      }
      const spy = suite.activeAt('infer');
      try {
        const answer = grpcH2Call(suite.session, MODEL_INFER_PATH, [gzippedSimple('last')], { headers: GZIP });
        const freed = watcher.until(slots.limit - 1);
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
      const released = watcher.until(0);
      for (const stream of open) stream.close(http2.constants.NGHTTP2_CANCEL);
      await released;
    }
  });
});

describe('lean ModelStreamInfer', () => {
  it("holds each message's slot until the handler has it, and answers each", async () => {
    const spy = suite.activeAt('inferStream');
    try {
      const result = await grpcH2Call(suite.session, MODEL_STREAM_INFER_PATH, [gzippedSimple('s0'), gzippedSimple('s1'), gzippedSimple('s2')], { headers: GZIP });
      expect({ status: result.status, answers: result.messages.length }).toEqual({ status: GrpcStatus.OK, answers: 3 });
      expect(spy.seen).toEqual([1, 1, 1]);
    } finally {
      spy.restore();
    }
  });
});

describe('server shutdown', () => {
  it('stops while requests hold and wait for slots, and every slot goes back', async () => {
    const own = await new InflateServer({ grpcMaxMessageBytes: LIMIT, grpcLeanInfer: true, exitTimeoutSecs: 0 }).start();
    const { slots, watcher } = own;
    own.session.on('error', () => undefined);
    try {
      for (let i = 0; i <= slots.limit; i++) {
        own.open(MODEL_INFER_PATH).write(gzippedSimple(`held${i}`)); // never half-closed: each holds its slot once inflated, the last one waits
      }
      await watcher.until(slots.limit, 1);
      const released = watcher.until(0); // the streams' close follows their connection's destruction
      await own.server.app.stop();
      await released;
      expect(slots.counts).toEqual({ active: 0, waiting: 0 });
    } finally {
      watcher.stop();
      own.session.destroy();
    }
  });
});
