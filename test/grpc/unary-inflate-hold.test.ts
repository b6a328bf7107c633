/**
 * A unary call's compressed request holds its inflate slot until its handler runs at half-close (inflate-gate.ts on the
 * default path, lean-infer.ts on the lean one). Two ways a client could hold slots without end, and so block every
 * compressed call, are closed on both paths: a second request message is refused before it waits for a slot behind
 * the first one's, and a request holding its slot while the client withholds half-close ends the call with
 * RESOURCE_EXHAUSTED after `inflateHold.limitMs` (here shortened; the test waits for the status, not for a time).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { grpcH2Call } from '../../bench/lib/grpc-h2';
import { inflateHoldExpired } from '../../server/protocol/grpc/inflate-gate';
import { MODEL_INFER_PATH, MODEL_STREAM_INFER_PATH } from '../../server/protocol/grpc/lean-infer';
import { GZIP, gzipped, gzippedSimple, inflateSuite, SERVER_LIVE } from './inflate-helpers';

const secondMessage = (path: string) => `Received a second request message for server streaming method ${path}`;

describe.each([
  ['default (grpc-js) path', false],
  ['lean path', true],
])('%s', (_name, lean) => {
  const suite = inflateSuite({ grpcLeanInfer: lean });

  it('refuses a ModelInfer second message at once, while the first holds the last free slot (it would wait forever)', async () => {
    const giveBack = suite.occupy(suite.slots.limit - 1);
    try {
      const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzippedSimple('one'), gzippedSimple('two')], { headers: GZIP });
      expect({ status: result.status, details: result.details }).toEqual({ status: GrpcStatus.UNIMPLEMENTED, details: secondMessage(MODEL_INFER_PATH) });
    } finally {
      giveBack();
    }
  });

  it('refuses it the same way with every slot free', async () => {
    const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzippedSimple('one'), gzippedSimple('two')], { headers: GZIP });
    expect({ status: result.status, details: result.details }).toEqual({ status: GrpcStatus.UNIMPLEMENTED, details: secondMessage(MODEL_INFER_PATH) });
  });

  it('ends a ModelInfer call whose request holds its slot without half-close, and gives the slot back', async () => {
    const hold = suite.server.app.grpc!.inflateHold;
    const limitMs = hold.limitMs;
    hold.limitMs = 5;
    try {
      const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzippedSimple('held')], { headers: GZIP, end: false });
      expect({ code: result.status, details: result.details }).toEqual(inflateHoldExpired(5));
    } finally {
      hold.limitMs = limitMs;
    }
  });

  it('does not end a call whose client half-closed while its request inflated, however long the handler takes', async () => {
    const hold = suite.server.app.grpc!.inflateHold;
    const limitMs = hold.limitMs;
    // Long enough that the half-close, sent with the message, is always read before it could end the call on a loaded
    // machine; the handler outlasts it all the same.
    hold.limitMs = 50;
    const service = suite.server.app.service;
    const original = service.infer.bind(service);
    // The answer waits for a timer of the limit's length set after any hold timer: one still running would fire first
    // (timers of one duration fire in the order they were set).
    const infer = jest.spyOn(service, 'infer').mockImplementation(async (...args) => {
      await new Promise((resolve) => setTimeout(resolve, hold.limitMs));
      return original(...args);
    });
    try {
      const result = await grpcH2Call(suite.session, MODEL_INFER_PATH, [gzippedSimple('slow')], { headers: GZIP });
      expect({ status: result.status, details: result.details }).toEqual({ status: GrpcStatus.OK, details: 'OK' });
    } finally {
      infer.mockRestore();
      hold.limitMs = limitMs;
    }
  });

  it('leaves a ModelStreamInfer call open past the limit (its messages are taken as they come)', async () => {
    const hold = suite.server.app.grpc!.inflateHold;
    const limitMs = hold.limitMs;
    hold.limitMs = 1;
    try {
      // The first answer comes after the handler took the message; the stream is ended only then, by the client.
      const stream = suite.open(MODEL_STREAM_INFER_PATH);
      const answered = new Promise<void>((resolve) => stream.once('data', () => resolve()));
      let status: string | undefined;
      stream.on('trailers', (trailers) => (status = String(trailers['grpc-status'])));
      stream.on('response', (headers) => (status ??= headers['grpc-status'] === undefined ? undefined : String(headers['grpc-status'])));
      const closed = new Promise<void>((resolve) => stream.on('close', resolve));
      stream.write(gzippedSimple('stream'));
      await answered;
      stream.end();
      await closed;
      expect(status).toBe(String(GrpcStatus.OK));
    } finally {
      hold.limitMs = limitMs;
    }
  });
});

describe('default (grpc-js) path, other unary methods', () => {
  const suite = inflateSuite();

  it('refuses a second ServerLive message with grpc-js\'s status and text, and ends a withheld half-close', async () => {
    const { server } = suite;
    const other = server.app.grpc!.otherInflateSlots;
    const empty = gzipped(Buffer.alloc(0));
    const second = await grpcH2Call(suite.session, SERVER_LIVE, [empty, empty], { headers: GZIP });
    expect({ status: second.status, details: second.details }).toEqual({ status: GrpcStatus.UNIMPLEMENTED, details: secondMessage(SERVER_LIVE) });
    server.app.grpc!.inflateHold.limitMs = 5;
    const held = await grpcH2Call(suite.session, SERVER_LIVE, [empty], { headers: GZIP, end: false });
    expect({ code: held.status, details: held.details }).toEqual(inflateHoldExpired(5));
    await server.app.grpc!.inflateGates.whenEmpty();
    expect(other.counts).toEqual({ active: 0, waiting: 0 });
  });
});
