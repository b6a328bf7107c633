/**
 * Shared by the inflate-slot suites (inflate-gate, lean-inflate-hold, unary-inflate-hold; lean-infer-limits takes the
 * helpers, not the server): a server serving `simple` on gRPC only, a raw HTTP/2 session to it for hand-made frames,
 * and ways to hold and watch its inflate slots. Every wait is on a slot event, a PING the server answered in order, or
 * the call's own answer.
 */
import * as http2 from 'node:http2';
import * as zlib from 'node:zlib';
import { grpcFrame } from '../../bench/lib/grpc-h2';
import type { InferenceServerOptions } from '../../server/app';
import type { InflateSlots } from '../../server/protocol/http/compression';
import { serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { simpleRawRequest, startServer, StartedServer } from './helpers';

export const GZIP = { 'grpc-encoding': 'gzip' };
export const SERVER_LIVE = '/inference.GRPCInferenceService/ServerLive';

/** `bytes` as one compressed gRPC message. */
export const gzipped = (bytes: Uint8Array): Buffer => grpcFrame(zlib.gzipSync(bytes), true);
/** The `simple` request (raw contents) as one compressed gRPC message. */
export const gzippedSimple = (id: string): Buffer => gzipped(serializeInferRequest(simpleRawRequest(id)));

/** Open a gRPC call on `session` (no message sent yet); its stream errors are the test's to observe, not thrown. */
export function openCall(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = GZIP): http2.ClientHttp2Stream {
  const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
  stream.on('error', () => undefined);
  return stream;
}

/** Resolves once the server has read everything `session` sent before (a PING is answered in order). */
export function caughtUp(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => session.ping((error) => (error ? reject(error) : resolve())));
}

/** Take `count` of `slots`; the returned function gives them back. */
export function occupy(slots: InflateSlots, count: number): () => void {
  for (let i = 0; i < count; i++) slots.acquire(() => undefined);
  return () => {
    for (let i = 0; i < count; i++) slots.release();
  };
}

export interface SlotWatcher {
  /** Releases that found no slot held (a second release of one slot), since the watch began or `reset`. */
  readonly state: { extraReleases: number };
  /** Resolves once `active` slots are held and `waiting` calls wait (at once if so now). */
  until(active: number, waiting?: number): Promise<void>;
  reset(): void;
  stop(): void;
}

const WATCHED = ['acquire', 'cancel', 'release'] as const;

/** Watches `watched` through its own methods (wrapped on the instance until `stop`). */
export function watchSlots(watched: InflateSlots): SlotWatcher {
  const proto = Object.getPrototypeOf(watched) as InflateSlots;
  const own = watched as unknown as Record<string, unknown>;
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
  for (const method of WATCHED) {
    own[method] = (...args: unknown[]) => {
      const result = (proto[method] as (...a: unknown[]) => unknown).apply(watched, args);
      check();
      return result;
    };
  }
  return {
    state,
    until: (active, waiting = 0) =>
      new Promise<void>((resolve) => {
        wanted = { active, waiting, resolve };
        check();
      }),
    reset: () => {
      state.extraReleases = 0;
      wanted = undefined;
    },
    stop: () => {
      for (const method of WATCHED) delete own[method];
    },
  };
}

/** A server serving `simple` on gRPC only, a raw HTTP/2 session to it, and its inflate slots watched. */
export class InflateServer {
  server!: StartedServer;
  session!: http2.ClientHttp2Session;
  slots!: InflateSlots;
  watcher!: SlotWatcher;

  constructor(private readonly options: Partial<InferenceServerOptions> = {}) {}

  async start(): Promise<this> {
    this.server = await startServer({ loadModels: ['simple'], httpPort: undefined, allowHttp: false, ...this.options });
    this.session = http2.connect(`http://127.0.0.1:${this.server.grpcPort}`);
    this.slots = this.server.app.grpc!.inflateSlots;
    this.watcher = watchSlots(this.slots);
    return this;
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    this.session?.close();
    await this.server?.app.stop();
  }

  /** Every slot back once each call's gate has gone (at its stream's close on the server, which may come after the
   * client saw its answer or its own close). */
  async expectSettled(): Promise<void> {
    await this.server.app.grpc!.inflateGates.whenEmpty();
    expect(this.slots.counts).toEqual({ active: 0, waiting: 0 });
  }

  open(path: string, headers?: http2.OutgoingHttpHeaders): http2.ClientHttp2Stream {
    return openCall(this.session, path, headers);
  }

  occupy(count: number): () => void {
    return occupy(this.slots, count);
  }

  /** Resolves once the server has read everything this session sent before (a PING is answered in order). */
  caughtUp(): Promise<void> {
    return caughtUp(this.session);
  }

  /** The inflate slots held each time `method` of the service is called. */
  activeAt(method: 'infer' | 'inferStream'): { seen: number[]; restore: () => void } {
    const service = this.server.app.service;
    const original = (service[method] as (...args: unknown[]) => unknown).bind(service);
    const seen: number[] = [];
    const spy = jest.spyOn(service, method).mockImplementation(((...args: unknown[]) => {
      seen.push(this.slots.counts.active);
      return original(...args);
    }) as never);
    return { seen, restore: () => spy.mockRestore() };
  }
}

/**
 * An InflateServer for the enclosing describe's tests: started before them (checking that the lean path is on exactly
 * when asked), stopped after them, its watcher reset before each test and every slot checked back after each.
 */
export function inflateSuite(options: Partial<InferenceServerOptions> = {}): InflateServer {
  const suite = new InflateServer(options);
  beforeAll(async () => {
    await suite.start();
    expect(suite.server.app.grpc!.leanInferActive).toBe(options.grpcLeanInfer ?? false);
  });
  afterAll(() => suite.stop());
  beforeEach(() => suite.watcher.reset());
  afterEach(() => suite.expectSettled());
  return suite;
}
