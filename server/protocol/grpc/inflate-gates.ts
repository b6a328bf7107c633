/**
 * The inflate gates of the calls in flight (inflate-gate.ts says why there are gates): the front gives each compressed
 * call its gate and a token in its metadata, and every registered handler finds its call's gate by that token and
 * tells it when it has taken a message.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Metadata, UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { InflateSlots } from '../http/compression';
import { CallInflateGate, DEFAULT_INFLATE_HOLD_MS, type DataListener, type InflateHold } from './inflate-gate';

/** The metadata entry that names a compressed call's gate (set only by the front). */
export const INFLATE_GATE_HEADER = 'x-inference-server-inflate-gate';

/** The gates of the calls in flight, found by the token the front put in their metadata. */
export class InflateGates {
  private readonly open = new Map<string, CallInflateGate>();
  private nextToken = 0;
  /** Each served method's path: whether its requests stream (from the definitions wrapImplementation saw). */
  private readonly requestStreams = new Map<string, boolean>();
  private emptyWaiters: (() => void)[] = [];

  constructor(private readonly hold: InflateHold = { limitMs: DEFAULT_INFLATE_HOLD_MS }) {}

  /** Calls with a gate now (for tests). */
  get size(): number {
    return this.open.size;
  }

  /** Resolves once no call has a gate (at once if none has): a call's gate goes at its stream's close. */
  whenEmpty(): Promise<void> {
    if (this.open.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  private remove(token: string): void {
    this.open.delete(token);
    if (this.open.size > 0) return;
    for (const resolve of this.emptyWaiters.splice(0)) resolve();
  }

  /** Every stream's headers pass here first: a client's own entry with the gate's name is dropped. */
  static stripClientToken(headers: IncomingHttpHeaders): void {
    // Only when present: `delete` turns the headers object into a slow dictionary for every later read by grpc-js.
    if (headers[INFLATE_GATE_HEADER] !== undefined) delete headers[INFLATE_GATE_HEADER];
  }

  /**
   * Hands a compressed call's stream to grpc-js (`toGrpcJs`) with a gate between its DATA and grpc-js. The gate is
   * registered first: grpc-js sets up its call synchronously, and a streaming handler runs (and looks for its gate)
   * inside that. Once grpc-js returns, its one 'data' and 'end' listeners are moved behind the gate. A call grpc-js
   * answered at once (unknown method, bad content type) has no such listener and needs no gate.
   */
  admit(slots: InflateSlots, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, toGrpcJs: () => void): void {
    const token = String(this.nextToken++);
    headers[INFLATE_GATE_HEADER] = token;
    const unary = this.requestStreams.get(String(headers[':path'])) === false;
    const gate = new CallInflateGate(slots, stream, () => this.remove(token), unary, this.hold);
    this.open.set(token, gate);
    toGrpcJs();
    const data = stream.listeners('data');
    const end = stream.listeners('end');
    if (data.length !== 1 || end.length !== 1 || stream.closed || stream.destroyed) gate.finish();
    else gate.attach(data[0] as DataListener, end[0] as () => void);
  }

  /** The call's gate, taking its token out of the metadata the handler sees. */
  take(metadata: Metadata): CallInflateGate | undefined {
    const [token] = metadata.get(INFLATE_GATE_HEADER);
    if (token === undefined) return undefined;
    metadata.remove(INFLATE_GATE_HEADER);
    return this.open.get(String(token));
  }

  /**
   * `implementation` with each handler telling its call's gate when it has taken a message: a unary or
   * server-streaming handler once it returns (it had its one request), a client-streaming or bidirectional one after
   * each 'data' it handled.
   */
  wrapImplementation(definition: Record<string, { path: string; requestStream: boolean; originalName?: string }>, implementation: UntypedServiceImplementation): UntypedServiceImplementation {
    const wrapped: UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(definition)) {
      this.requestStreams.set(method.path, method.requestStream);
      const handler = implementation[name] ?? (method.originalName !== undefined ? implementation[method.originalName] : undefined);
      if (handler === undefined) continue;
      const call = handler as (...args: unknown[]) => void;
      wrapped[name] = (method.requestStream
        ? (stream: { metadata: Metadata; on(event: 'data', listener: () => void): unknown }) => {
            const gate = this.take(stream.metadata);
            call.call(implementation, stream);
            if (gate) stream.on('data', () => gate.messageTaken());
          }
        : (unaryCall: { metadata: Metadata }, ...rest: unknown[]) => {
            const gate = this.take(unaryCall.metadata);
            try {
              call.call(implementation, unaryCall, ...rest);
            } finally {
              gate?.messageTaken();
            }
          }) as UntypedHandleCall;
    }
    return wrapped;
  }
}
