/**
 * Bounded inflation for compressed calls that grpc-js serves. grpc-js inflates each message whole, with no hook to
 * queue that work or to say when the application is done with it, so the bound sits on both sides of grpc-js:
 *
 * - In front (`InflateGates.admit`, from the HTTP/2 'stream' front in server.ts): the call's DATA reaches grpc-js
 *   through a gate that reads the gRPC framing (hand-written: grpc-js has no hook there). When the first byte of a
 *   compressed message (flag 1) arrives, the message must take a slot of `slots` before grpc-js sees it; while it
 *   waits, the stream stays paused, so the client's bytes stay in HTTP/2 flow control. A call that sends headers and
 *   no message takes no slot.
 * - Behind (`InflateGates.wrapImplementation`, on every service the server registers): a slot goes back once the
 *   method's handler has its message — after a unary handler returns (a ModelInfer request is then decoded and either
 *   refused or handed to the scheduler), after a streaming handler's 'data' listener for it ran.
 *
 * So at most `slots.limit` compressed messages are inflated (or inflating) and not yet taken by their handler. Every
 * slot a call holds goes back exactly once, at the first of: its handler took the message, grpc-js ended the call
 * (status sent: an error, a deadline, a refused message), the stream closed (client reset or cancel, connection
 * gone). The front and the handler find each other through a metadata entry the front sets (INFLATE_GATE_HEADER);
 * the front removes that name from every client's headers, so it cannot be forged.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Metadata, UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { InflateSlots, InflateTicket } from '../http/compression';

/** The metadata entry that names a compressed call's gate (set only by the front). */
export const INFLATE_GATE_HEADER = 'x-inference-server-inflate-gate';

/** gRPC's length-prefixed message: a compressed-flag byte and a 4-byte big-endian length. */
const PREFIX_BYTES = 5;

type DataListener = (chunk: Buffer) => void;

/** One compressed call's gate between its HTTP/2 stream and grpc-js. */
export class CallInflateGate {
  /** One entry per message passed to grpc-js and not yet taken by the handler: whether it holds a slot. */
  private readonly held: boolean[] = [];
  /** Bytes of the current message's prefix seen (0: the next byte starts a message), then of its body left. */
  private prefixSeen = 0;
  private bodyLeft = 0;
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  /** Set while a message waits for a slot: the bytes from its start on, in order. */
  private ticket: InflateTicket | undefined;
  private stash: Buffer[] = [];
  private endPending = false;
  /** Whether grpc-js asked to read (its last pause/resume; it may have resumed already while setting up the call). */
  private grpcWantsData: boolean;
  private finished = false;
  private readonly realPause: () => ServerHttp2Stream;
  private readonly realResume: () => ServerHttp2Stream;

  constructor(
    private readonly slots: InflateSlots,
    private readonly stream: ServerHttp2Stream,
    private readonly toGrpcData: DataListener,
    private readonly toGrpcEnd: () => void,
    private readonly onFinish: () => void,
  ) {
    this.grpcWantsData = stream.readableFlowing === true;
    this.realPause = stream.pause.bind(stream);
    this.realResume = stream.resume.bind(stream);
    stream.pause = () => {
      this.grpcWantsData = false;
      return this.realPause();
    };
    stream.resume = () => {
      this.grpcWantsData = true;
      return this.ticket && !this.finished ? stream : this.realResume();
    };
    const respond = stream.respond.bind(stream);
    stream.respond = (...args: Parameters<ServerHttp2Stream['respond']>) => {
      if (args[1]?.endStream) this.finish(); // grpc-js's trailers-only status: the call is over
      respond(...args);
    };
    const end = stream.end.bind(stream) as (...args: unknown[]) => ServerHttp2Stream;
    stream.end = ((...args: unknown[]) => {
      this.finish(); // grpc-js sends its status after this: the call is over
      return end(...args);
    }) as ServerHttp2Stream['end'];
    stream.once('close', () => this.finish());
  }

  /** The stream's 'data', in grpc-js's place. */
  readonly onData = (chunk: Buffer): void => {
    if (this.ticket && !this.finished) this.stash.push(chunk);
    else this.pass(chunk);
  };

  /** The stream's 'end', in grpc-js's place: after whatever waits. */
  readonly onEnd = (): void => {
    if (this.ticket && !this.finished) this.endPending = true;
    else this.toGrpcEnd();
  };

  /** The handler has taken the oldest message it was given: its slot, if it took one, goes back. */
  messageTaken(): void {
    if (this.held.shift()) this.slots.release();
  }

  /** Slots this call holds (for tests). */
  get slotsHeld(): number {
    return this.held.filter(Boolean).length;
  }

  /**
   * Hands `chunk` to grpc-js, stopping at the start of a compressed message that has to wait for a slot (the rest is
   * stashed). Returns false when it stopped.
   */
  private pass(chunk: Buffer): boolean {
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= take;
        at += take;
        continue;
      }
      if (this.prefixSeen === 0 && !this.finished) {
        // A message starts here. Only compressed ones (flag 1) take a slot; grpc-js refuses any other flag.
        const compressed = chunk[at] === 1;
        if (compressed && !this.takeSlot()) {
          if (at > 0) this.toGrpcData(chunk.subarray(0, at));
          this.stash.unshift(chunk.subarray(at));
          return false;
        }
        if (!compressed) this.held.push(false);
      }
      this.prefix[this.prefixSeen++] = chunk[at++];
      if (this.prefixSeen === PREFIX_BYTES) {
        this.bodyLeft = this.prefix.readUInt32BE(1);
        this.prefixSeen = 0;
      }
    }
    this.toGrpcData(chunk);
    return true;
  }

  /** True when the starting message got a slot now; otherwise it waits (stream paused) and `granted` follows. */
  private takeSlot(): boolean {
    let now = true;
    let got = false;
    const ticket = this.slots.acquire(() => {
      got = true;
      this.held.push(true);
      if (!now) this.granted();
    });
    now = false;
    if (got) return true;
    this.ticket = ticket;
    this.realPause();
    return false;
  }

  /** The waiting message has its slot: what was stashed goes on to grpc-js, then the stream flows if grpc-js asked. */
  private granted(): void {
    this.ticket = undefined;
    // The waiting message's first byte is the stash's first: it has its slot, so it must not ask again.
    const [first, ...rest] = this.stash;
    this.stash = [];
    this.prefix[0] = first[0];
    this.prefixSeen = 1;
    const remaining = [first.subarray(1), ...rest];
    if (first.length > 0) this.toGrpcData(first.subarray(0, 1));
    for (let i = 0; i < remaining.length; i++) {
      if (!this.pass(remaining[i])) {
        this.stash.push(...remaining.slice(i + 1));
        return;
      }
    }
    if (this.endPending) {
      this.endPending = false;
      this.toGrpcEnd();
    }
    if (this.grpcWantsData && !this.stream.destroyed) this.realResume();
  }

  /** The call is over: its slots go back (a waiting place is given up) and nothing more is held back. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.ticket) this.slots.cancel(this.ticket);
    this.ticket = undefined;
    this.stash = [];
    for (const holds of this.held.splice(0)) if (holds) this.slots.release();
    this.onFinish();
    // Whatever the client still sends is read and dropped by grpc-js, as it does for any finished call.
    if (this.grpcWantsData && !this.stream.destroyed) this.realResume();
  }
}

/** The gates of the calls in flight, found by the token the front put in their metadata. */
export class InflateGates {
  private readonly open = new Map<string, CallInflateGate>();
  private nextToken = 0;

  /** Calls with a gate now (for tests). */
  get size(): number {
    return this.open.size;
  }

  /** Every stream's headers pass here first: a client's own entry with the gate's name is dropped. */
  static stripClientToken(headers: IncomingHttpHeaders): void {
    delete headers[INFLATE_GATE_HEADER];
  }

  /**
   * Hands a compressed call's stream to grpc-js (`toGrpcJs`) with a gate between its DATA and grpc-js. grpc-js sets
   * up its call synchronously: once it returns, its one 'data' and 'end' listeners are moved behind the gate. A call
   * grpc-js answered at once (unknown method, bad content type) has no such listener and needs no gate.
   */
  admit(slots: InflateSlots, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, toGrpcJs: () => void): void {
    const token = String(this.nextToken++);
    headers[INFLATE_GATE_HEADER] = token;
    toGrpcJs();
    const data = stream.listeners('data');
    const end = stream.listeners('end');
    if (data.length !== 1 || end.length !== 1 || stream.closed || stream.destroyed) return;
    const [grpcData] = data as DataListener[];
    const [grpcEnd] = end as (() => void)[];
    stream.removeListener('data', grpcData);
    stream.removeListener('end', grpcEnd);
    const gate = new CallInflateGate(slots, stream, (chunk) => grpcData.call(stream, chunk), () => grpcEnd.call(stream), () => this.open.delete(token));
    this.open.set(token, gate);
    stream.on('data', gate.onData);
    stream.on('end', gate.onEnd);
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
  wrapImplementation(definition: Record<string, { requestStream: boolean; originalName?: string }>, implementation: UntypedServiceImplementation): UntypedServiceImplementation {
    const wrapped: UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(definition)) {
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
