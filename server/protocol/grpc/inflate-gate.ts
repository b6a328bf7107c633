/**
 * Bounded inflation for compressed calls that grpc-js serves. grpc-js inflates each message whole, with no hook to
 * queue that work or to say when the application is done with it, so the bound sits on both sides of grpc-js:
 *
 * - In front (`InflateGates.admit` in inflate-gates.ts, from the HTTP/2 'stream' front in server.ts): the call's DATA
 *   reaches grpc-js through this file's gate, which reads the gRPC framing (hand-written: grpc-js has no hook there).
 *   grpc-js inflates a message once it has all of it, so a compressed message (flag 1) must take a slot of `slots`
 *   before grpc-js gets its last byte; while it waits, the stream stays paused, so the client's further bytes stay in
 *   HTTP/2 flow control. A call that sends headers and no message, or stalls inside one, holds no slot (its compressed
 *   bytes are the body, within the message limit).
 * - Behind (`InflateGates.wrapImplementation`, on every service the server registers): a slot goes back once the
 *   method's handler has its message — after a unary handler returns (a ModelInfer request is then decoded and either
 *   refused or handed to the scheduler), after a streaming handler's 'data' listener for it ran.
 *
 * So at most `slots.limit` compressed messages are inflated (or inflating) and not yet taken by their handler. Every
 * slot a call holds goes back exactly once, at the first of: its handler took the message, grpc-js ended the call
 * (status sent: an error, a deadline, a refused message), the stream closed (client reset or cancel, connection
 * gone). The front and the handler find each other through a metadata entry the front sets (INFLATE_GATE_HEADER);
 * the front removes that name from every client's headers, so it cannot be forged.
 *
 * A unary method's call (its requests do not stream) has one message, and its handler runs only at half-close, so two
 * of its holes are closed here: a second message is refused at its first byte, before it can wait for a slot behind
 * the first one's (grpc-js is handed an empty message in its place and answers it, UNIMPLEMENTED, as it answers any
 * second message); and a message that holds its slot while the client withholds half-close longer than
 * `hold.limitMs` ends the call with RESOURCE_EXHAUSTED (docs/request-costs.md).
 */
import { constants as http2Constants, type ServerHttp2Stream } from 'node:http2';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { InflateSlots, InflateTicket } from '../http/compression';

/** gRPC's length-prefixed message: a compressed-flag byte and a 4-byte big-endian length. */
const PREFIX_BYTES = 5;
/** An empty uncompressed message: what grpc-js gets in place of a unary call's second message. */
const EMPTY_MESSAGE = Buffer.alloc(PREFIX_BYTES);

/** How long a unary call's message may hold an inflate slot waiting for half-close (shared, so tests can shorten it). */
export interface InflateHold {
  limitMs: number;
}

/** A real client half-closes with its request's last DATA frame; 5 s covers a slow link between the two. */
export const DEFAULT_INFLATE_HOLD_MS = 5000;

/** The status a call gets when its message held a slot past the limit (both paths: lean-infer.ts too). */
export function inflateHoldExpired(limitMs: number): { code: GrpcStatus; details: string } {
  return {
    code: GrpcStatus.RESOURCE_EXHAUSTED,
    details: `Compressed request message held an inflate slot for ${limitMs} ms without the client half-closing the call`,
  };
}

export type DataListener = (chunk: Buffer) => void;

/** One compressed call's gate between its HTTP/2 stream and grpc-js. */
export class CallInflateGate {
  /** One entry per message passed to grpc-js whole and not yet taken by the handler: whether it holds a slot. */
  private readonly held: boolean[] = [];
  /** Bytes of the current message's prefix seen (PREFIX_BYTES: in its body), then the body's bytes left. */
  private prefixSeen = 0;
  private bodyLeft = 0;
  private readonly prefix = Buffer.alloc(PREFIX_BYTES);
  /** Set while a message waits for a slot: the bytes from its last one on, in order. */
  private ticket: InflateTicket | undefined;
  /** The waiting message got its slot: its last byte goes through without asking again. */
  private slotGranted = false;
  private stash: Buffer[] = [];
  private endPending = false;
  /** Whether grpc-js asked to read (its last pause/resume; it may have resumed already while setting up the call). */
  private grpcWantsData: boolean;
  private finished = false;
  /** Messages whose last byte went to grpc-js (or waits for a slot to): a unary call's second is refused. */
  private messagesComplete = 0;
  /** A unary call's second message began: grpc-js had its empty stand-in, the client's further bytes are dropped. */
  private refusing = false;
  /** The gate answered the call itself (hold limit): grpc-js's own later writes go nowhere. */
  private answered = false;
  /** Runs while a unary call's message holds a slot and grpc-js has not had the half-close. */
  private holdTimer: NodeJS.Timeout | undefined;
  private toGrpcData: DataListener = () => undefined;
  private toGrpcEnd: () => void = () => undefined;
  private readonly realPause: () => ServerHttp2Stream;
  private readonly realResume: () => ServerHttp2Stream;
  private readonly realRespond: ServerHttp2Stream['respond'];

  /** Wraps the stream before grpc-js sets up its call, so that grpc-js's pauses and resumes are seen from the start. */
  constructor(
    private readonly slots: InflateSlots,
    private readonly stream: ServerHttp2Stream,
    private readonly onFinish: () => void,
    /** Whether the method's requests do not stream (one message, handler at half-close). */
    private readonly unary = false,
    private readonly hold: InflateHold = { limitMs: DEFAULT_INFLATE_HOLD_MS },
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
    this.realRespond = respond;
    stream.respond = (...args: Parameters<ServerHttp2Stream['respond']>) => {
      if (this.answered) return; // grpc-js's own answer (its deadline) after the gate's: the call is over already
      if (args[1]?.endStream) this.finish(); // grpc-js's trailers-only status: the call is over
      respond(...args);
    };
    const end = stream.end.bind(stream) as (...args: unknown[]) => ServerHttp2Stream;
    stream.end = ((...args: unknown[]) => {
      if (this.answered) return stream;
      this.finish(); // grpc-js sends its status after this: the call is over
      return end(...args);
    }) as ServerHttp2Stream['end'];
    stream.once('close', () => this.finish());
  }

  /** Puts the gate between the stream and grpc-js's own 'data' and 'end' listeners. */
  attach(grpcData: DataListener, grpcEnd: () => void): void {
    this.toGrpcData = (chunk) => grpcData.call(this.stream, chunk);
    this.toGrpcEnd = () => grpcEnd.call(this.stream);
    this.stream.removeListener('data', grpcData);
    this.stream.removeListener('end', grpcEnd);
    this.stream.on('data', this.onData);
    this.stream.on('end', this.onEnd);
  }

  /** The stream's 'data', in grpc-js's place. */
  private readonly onData = (chunk: Buffer): void => {
    if (this.answered) return; // read and dropped: grpc-js must not run the handler of a call already answered
    if (this.ticket && !this.finished) this.stash.push(chunk);
    else this.pass(chunk);
  };

  /** The stream's 'end', in grpc-js's place: after whatever waits. */
  private readonly onEnd = (): void => {
    if (this.answered) return;
    if (this.ticket && !this.finished) this.endPending = true;
    else this.halfClose();
  };

  /** grpc-js gets the half-close: a unary handler runs now, so a held message's wait for it is over. */
  private halfClose(): void {
    this.stopHoldTimer();
    this.toGrpcEnd();
  }

  private stopHoldTimer(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }

  /**
   * A unary call's message held its slot past the limit without half-close: the call ends with RESOURCE_EXHAUSTED
   * (trailers-only, as grpc-js answers; no handler ran, so nothing was sent before) and its slot goes back.
   */
  private holdExpired(): void {
    this.holdTimer = undefined;
    if (this.finished) return;
    const { code, details } = inflateHoldExpired(this.hold.limitMs);
    const respond = !this.stream.headersSent && !this.stream.destroyed;
    this.answered = true;
    this.finish();
    try {
      if (respond) {
        this.realRespond({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': String(code), 'grpc-message': encodeURI(details) }, { endStream: true });
      } else this.stream.close(http2Constants.NGHTTP2_CANCEL);
    } catch {
      // the stream closed under us: the client is gone, the call is over either way
    }
  }

  /** The handler has taken the oldest message it was given: its slot, if it took one, goes back. */
  messageTaken(): void {
    if (!this.held.shift()) return;
    this.stopHoldTimer();
    this.slots.release();
  }

  /** Slots this call holds (for tests). */
  get slotsHeld(): number {
    return this.held.filter(Boolean).length;
  }

  /**
   * Hands `chunk` to grpc-js, stopping before the last byte of a compressed message that has to wait for a slot (grpc-js
   * inflates a message once it has all of it; the rest is stashed). Returns false when it stopped.
   */
  private pass(chunk: Buffer): boolean {
    if (this.refusing) return true;
    let at = 0;
    while (at < chunk.length) {
      if (this.unary && this.prefixSeen === 0 && this.messagesComplete > 0 && !this.finished) {
        // A unary call's second message: refused at its first byte, before it could wait for a slot behind the first
        // one's (whose handler runs only at half-close, stashed behind it). grpc-js answers the stand-in with its
        // own status and text; the rest of the client's bytes are dropped.
        this.refusing = true;
        this.toGrpcData(Buffer.concat([chunk.subarray(0, at), EMPTY_MESSAGE]));
        return true;
      }
      if (this.prefixSeen < PREFIX_BYTES) {
        if (this.prefixSeen === PREFIX_BYTES - 1) {
          // The prefix's last byte: with a zero length it is the message's last byte too.
          const length = ((this.prefix.readUIntBE(1, 3) << 8) | chunk[at]) >>> 0;
          if (length === 0 && !this.admit(chunk, at)) return false;
          this.bodyLeft = length;
        }
        this.prefix[this.prefixSeen++] = chunk[at++];
        if (this.prefixSeen === PREFIX_BYTES && this.bodyLeft === 0) this.prefixSeen = 0;
        continue;
      }
      const take = Math.min(this.bodyLeft, chunk.length - at);
      if (take < this.bodyLeft) {
        this.bodyLeft -= take;
        at += take;
        continue;
      }
      this.bodyLeft = 1;
      at += take - 1;
      if (!this.admit(chunk, at)) return false;
      this.bodyLeft = 0;
      this.prefixSeen = 0;
      at++;
    }
    this.toGrpcData(chunk);
    return true;
  }

  /**
   * The byte at `chunk[at]` completes a message: a compressed one (flag 1; grpc-js reads any other flag as
   * uncompressed) goes on only with a slot. Returns false when it must wait: what comes before `at` has gone to grpc-js,
   * the rest is stashed and the stream paused until the slot is granted.
   */
  private admit(chunk: Buffer, at: number): boolean {
    if (this.finished) return true; // grpc-js drops what a finished call still receives
    if (this.slotGranted) {
      this.slotGranted = false;
      this.holding();
      return true;
    }
    this.messagesComplete++;
    if (this.prefix[0] !== 1) {
      this.held.push(false);
      return true;
    }
    let now = true;
    let got = false;
    const ticket = this.slots.acquire(() => {
      got = true;
      if (now) return;
      this.slotGranted = true;
      this.granted();
    });
    now = false;
    if (got) {
      this.holding();
      return true;
    }
    this.ticket = ticket;
    this.realPause();
    if (at > 0) this.toGrpcData(chunk.subarray(0, at));
    this.stash.unshift(chunk.subarray(at));
    return false;
  }

  /** A compressed message's last byte goes to grpc-js with its slot: on a unary call, it waits for half-close bounded. */
  private holding(): void {
    this.held.push(true);
    if (this.unary && !this.holdTimer) this.holdTimer = setTimeout(() => this.holdExpired(), this.hold.limitMs);
  }

  /** The waiting message has its slot: what was stashed goes on to grpc-js, then the stream flows if grpc-js asked. */
  private granted(): void {
    this.ticket = undefined;
    if (this.finished) {
      // finish() could not cancel a ticket that was being granted: the slot goes straight back
      this.slotGranted = false;
      this.slots.release();
      return;
    }
    const stashed = this.stash;
    this.stash = [];
    for (let i = 0; i < stashed.length; i++) {
      if (!this.pass(stashed[i])) {
        this.stash.push(...stashed.slice(i + 1));
        return;
      }
    }
    if (this.endPending) {
      this.endPending = false;
      this.halfClose();
    }
    if (this.grpcWantsData && !this.stream.destroyed) this.realResume();
  }

  /** The call is over: its slots go back (a waiting place is given up) and nothing more is held back. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.stopHoldTimer();
    if (this.ticket) this.slots.cancel(this.ticket);
    this.ticket = undefined;
    this.stash = [];
    this.endPending = false;
    for (const holds of this.held.splice(0)) if (holds) this.slots.release();
    this.onFinish();
    // Whatever the client still sends is read and dropped by grpc-js, as it does for any finished call.
    if (this.grpcWantsData && !this.stream.destroyed) this.realResume();
  }
}
