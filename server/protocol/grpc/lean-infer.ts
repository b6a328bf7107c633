/**
 * The lean path for ModelInfer and ModelStreamInfer: the inference calls are served straight from node:http2
 * streams, every other call (and every call this path does not take) goes to grpc-js as before, on the same
 * connection. Off by default (GrpcFrontendOptions.leanInfer): it was written because grpc-js's per-call machinery
 * looked like most of a small call's cost, and under load it measured 1–17 µs cheaper per call; on a quiet machine,
 * after the robustness fixes, it was not cheaper (frontend alone 81 vs 74 µs, bench/README.md "bench:grpc"). Kept,
 * tested byte for byte against grpc-js, for the benchmark's side-by-side rows; to be made to pay or removed.
 *
 * What it keeps from grpc-js (the texts too, so a client cannot tell the paths apart): status codes and details,
 * `grpc-timeout` deadlines (DEADLINE_EXCEEDED 'Deadline exceeded'), `--grpc-max-message-bytes` on received (declared
 * and inflated size) and sent messages, grpc-encoding gzip / deflate / identity, the response headers, trailers with
 * `grpc-status` / `grpc-message` (URI-encoded) and an error's metadata, trailers-only errors, cancellation (a client's
 * RST_STREAM or a closed connection marks the call cancelled; nothing more is written). Anything unusual is left to
 * grpc-js (a content type that is not gRPC, a bad `grpc-timeout`, a call refused by --grpc-restricted-protocol), so
 * those answers have one implementation. Sessions, TLS, keepalive and connection age stay grpc-js's: the path only
 * sees streams of sessions grpc-js accepted.
 * Beyond grpc-js: at most `inflateSlots.limit` compressed messages are inflating or inflated and not yet taken by their
 * handler (message-reader.ts heldMessage: a unary call's request holds its slot until the handler runs at half-close,
 * a stream's message until its 'data' listeners ran, any call's until it is over), and a message with the compressed
 * flag on a call without grpc-encoding is refused (grpc-js would read it as uncompressed). Two unary holes are closed
 * as on the default path (inflate-gate.ts): a ModelInfer call's second message is refused (grpc-js's status and text)
 * as soon as it is read, without a slot or inflating it, and a request holding its slot while the client withholds
 * half-close longer than `inflateHold.limitMs` ends the call with RESOURCE_EXHAUSTED.
 */
import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { InflateSlots } from '../http/compression';
import { DEFAULT_INFLATE_HOLD_MS, inflateHoldExpired, type InflateHold } from './inflate-gate';
import { deserializeInferRequest, serializeInferResponse, serializeStreamInferResponse } from './infer-wire';
import { GrpcCallStatus, GrpcFrame, GrpcMessageFramer, heldMessage, ACCEPTED_ENCODINGS } from './message-reader';
import type { ModelInferRequestMessage, ModelInferResponseMessage, ModelStreamInferResponseMessage } from './messages';
import { SERVICE_NAME } from './proto';
import type { InferCall, InferHandlers } from './service';
import type { CallMetadata, StreamInferCall } from './stream-infer';

export const MODEL_INFER_PATH = `/${SERVICE_NAME}/ModelInfer`;
export const MODEL_STREAM_INFER_PATH = `/${SERVICE_NAME}/ModelStreamInfer`;

export interface LeanInferOptions {
  readonly handlers: InferHandlers;
  readonly maxMessageBytes: number;
  readonly inflateSlots: InflateSlots;
  /** How long a ModelInfer request may hold its slot waiting for half-close (default DEFAULT_INFLATE_HOLD_MS). */
  readonly inflateHold?: InflateHold;
  /** --grpc-restricted-protocol's entry for the inference group: calls without it are left to grpc-js. */
  readonly restriction?: { readonly header: string; readonly value: string };
}

const NOTHING_HELD = () => undefined;

/** grpc-js's deadline format and units (ms per unit). */
const DEADLINE = /^(\d{1,8})\s*([HMSmun])$/;
const DEADLINE_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** A `grpc-timeout` header in ms as grpc-js reads it; undefined when absent or malformed (grpc-js refuses those). */
export function grpcTimeoutMs(timeout: string | string[] | undefined): number | undefined {
  const match = typeof timeout === 'string' ? DEADLINE.exec(timeout) : null;
  return match ? (Number(match[1]) * DEADLINE_UNIT_MS[match[2]]) | 0 : undefined;
}

/** The response headers grpc-js sends (it accepts these encodings and never compresses a response). */
const RESPONSE_HEADERS = { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-accept-encoding': ACCEPTED_ENCODINGS, 'grpc-encoding': 'identity' } as const;

/** Headers grpc-js takes out of the metadata a handler sees. */
const TRANSPORT_HEADERS = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type'];

/**
 * A 'stream' listener for grpc-js's HTTP/2 server: serves the stream and returns true when it is an inference call
 * this path takes, else returns false without touching it (the caller hands it to grpc-js).
 */
export function leanInferStreamHandler(options: LeanInferOptions): (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean {
  return (stream, headers) => {
    const path = headers[':path'];
    if (path !== MODEL_INFER_PATH && path !== MODEL_STREAM_INFER_PATH) return false;
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) return false;
    const restriction = options.restriction;
    if (restriction && headers[restriction.header.toLowerCase()] !== restriction.value) return false;
    const deadlineMs = grpcTimeoutMs(headers['grpc-timeout']);
    if (headers['grpc-timeout'] !== undefined && deadlineMs === undefined) return false;
    if (path === MODEL_INFER_PATH) new LeanUnaryCall(stream, headers, options, deadlineMs);
    else options.handlers.modelStreamInfer(new LeanStreamCall(stream, headers, options, deadlineMs));
    return true;
  };
}

/** One call on one HTTP/2 stream: reads messages in order, writes messages, ends with a status. */
abstract class LeanCall extends EventEmitter {
  private readonly framer: GrpcMessageFramer;
  private readonly encoding: string;
  private readonly frames: GrpcFrame[] = [];
  /** Messages inflating or queued behind one that inflates (they are delivered in order); the stream is paused. */
  private inflating: Promise<void> | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private requestMetadata: Metadata | undefined;
  private headersSent = false;
  /** True once the call has its status or the stream closed: nothing more is read or written. */
  private over = false;
  /** Aborted when the call is over: stops its messages waiting for or holding an inflate slot. */
  private readonly ended = new AbortController();
  /** The inflate slot of a message read and not yet taken by the handler (a unary call's request until half-close). */
  protected heldSlot: (() => void) | undefined;
  /** Runs while a unary call's request holds its slot and the client has not half-closed. */
  private holdTimer: NodeJS.Timeout | undefined;
  /** Messages read (complete frames): a unary call refuses its second. */
  private framesRead = 0;
  /** The client half-closed (its request may still be inflating: no hold timer then, the handler runs next). */
  private clientHalfClosed = false;
  cancelled = false;

  constructor(
    protected readonly stream: http2.ServerHttp2Stream,
    private readonly headers: http2.IncomingHttpHeaders,
    protected readonly options: LeanInferOptions,
    deadlineMs: number | undefined,
  ) {
    super();
    this.framer = new GrpcMessageFramer(options.maxMessageBytes);
    const encoding = headers['grpc-encoding'];
    this.encoding = typeof encoding === 'string' ? encoding : 'identity';
    // An error event is followed by close, which ends the call; the listener only keeps it from being thrown.
    stream.on('error', () => undefined);
    stream.once('close', () => this.closed());
    stream.on('data', (chunk: Buffer) => this.received(chunk));
    stream.once('end', () => this.halfClosed());
    if (deadlineMs !== undefined) {
      this.deadlineTimer = setTimeout(() => {
        this.sendStatus(GrpcStatus.DEADLINE_EXCEEDED, 'Deadline exceeded');
        // As grpc-js: a deadline cancels the call for its handler too (a streaming ensemble then starts no more steps).
        this.emit('cancelled', 'deadline');
      }, deadlineMs);
    }
  }

  /** The request metadata as grpc-js gives it to a handler (built on first use: only header forwarding reads it). */
  get metadata(): CallMetadata {
    if (!this.requestMetadata) {
      this.requestMetadata = Metadata.fromHttp2Headers(this.headers);
      for (const header of TRANSPORT_HEADERS) this.requestMetadata.remove(header);
    }
    return this.requestMetadata;
  }

  /**
   * `release` gives back the message's inflate slot: once the handler has it (the call's end gives it back too);
   * `holdsSlot`: whether it took one (it came compressed).
   */
  protected abstract message(request: ModelInferRequestMessage, release: () => void, holdsSlot: boolean): void;

  /** Whether the call ends at a message read after the first (a unary call's, answered here); false by default. */
  protected refuseAnother(): boolean {
    return false;
  }

  /** The message holding a slot waits for half-close at most `inflateHold.limitMs`, then the call ends. */
  protected boundHold(): void {
    if (this.clientHalfClosed) return;
    const limitMs = (this.options.inflateHold ?? { limitMs: DEFAULT_INFLATE_HOLD_MS }).limitMs;
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = undefined;
      const { code, details } = inflateHoldExpired(limitMs);
      this.sendStatus(code, details);
    }, limitMs);
  }

  private stopHoldTimer(): void {
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
  }
  protected abstract allReceived(): void;

  /** Frame, length-prefixed, as one DATA write; headers go first if not yet sent. */
  protected sendMessage(bytes: Buffer, callback?: () => void): void {
    if (this.checkCancelled()) return;
    if (bytes.length > this.options.maxMessageBytes) {
      this.sendStatus(GrpcStatus.RESOURCE_EXHAUSTED, `Sent message larger than max (${bytes.length + 5} vs. ${this.options.maxMessageBytes})`);
      return;
    }
    const framed = Buffer.allocUnsafe(bytes.length + 5);
    framed[0] = 0;
    framed.writeUInt32BE(bytes.length, 1);
    bytes.copy(framed, 5);
    this.guarded(() => {
      if (!this.headersSent) {
        this.headersSent = true;
        this.stream.respond({ ...RESPONSE_HEADERS }, { waitForTrailers: true });
      }
      this.stream.write(framed, callback ? () => callback() : undefined);
    });
  }

  /**
   * As grpc-js's checkCancelled: Node can close a stream (a client's RST_STREAM while the stream is paused) before it
   * emits 'close', and writing to it then throws; such a call is cancelled here and nothing more is done.
   */
  private checkCancelled(): boolean {
    if (!this.over && (this.stream.closed || this.stream.destroyed)) this.closed();
    return this.over;
  }

  /** A write that cannot throw out of an event handler: should the stream close under it, the call is cancelled. */
  private guarded(write: () => void): void {
    try {
      write();
    } catch {
      this.closed();
    }
  }

  /** End the call: trailers after the messages, or a trailers-only response when nothing was sent. */
  sendStatus(code: GrpcStatus, details: string, metadata?: Metadata | null): void {
    if (this.checkCancelled()) return;
    this.finish();
    const status = { 'grpc-status': String(code), 'grpc-message': encodeURI(details), ...metadata?.toHttp2Headers() };
    try {
      if (!this.headersSent) {
        this.headersSent = true;
        this.stream.respond({ ...RESPONSE_HEADERS, ...status }, { endStream: true });
        return;
      }
      this.stream.once('wantTrailers', () => {
        try {
          this.stream.sendTrailers(status);
        } catch {
          // closed under us: the client is gone
        }
      });
      this.stream.end();
    } catch {
      // the stream closed between the check and the write: the client is gone, the call is over either way
    }
  }

  private finish(): void {
    this.over = true;
    this.cancelled = true; // as grpc-js: once the status is out, the handler's writes go nowhere
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.stopHoldTimer();
    this.ended.abort();
    this.releaseHeld();
    // Whatever the client still sends is read and dropped, so it cannot fill the flow-control window.
    this.stream.resume();
  }

  private closed(): void {
    if (this.over) return;
    this.finish();
    this.emit('cancelled', 'cancelled');
  }

  private received(chunk: Buffer): void {
    if (this.checkCancelled()) return;
    try {
      this.framer.push(chunk, this.frames);
    } catch (error) {
      this.fail(error);
      return;
    }
    while (this.frames.length > 0 && !this.over) {
      const frame = this.frames.shift()!;
      // Before it waits for a slot: a unary call's second message would wait behind the first one's, held to half-close.
      if (this.framesRead++ > 0 && this.refuseAnother()) return;
      if (!frame.compressed && !this.inflating) this.deliver(frame.payload);
      else this.queue(() => heldMessage(frame, this.encoding, this.options.maxMessageBytes, this.options.inflateSlots, this.ended.signal).then(({ bytes, release }) => this.deliver(bytes, release, frame.compressed)));
    }
  }

  /** Run `step` after the messages before it, with the stream paused until the queue is empty. */
  private queue(step: () => Promise<void>): void {
    this.stream.pause();
    const next: Promise<void> = (this.inflating ?? Promise.resolve()).then(() => (this.checkCancelled() ? undefined : step())).catch((error: unknown) => this.fail(error));
    this.inflating = next;
    void next.then(() => {
      if (this.inflating !== next) return;
      this.inflating = undefined;
      if (!this.checkCancelled()) this.stream.resume();
    });
  }

  private deliver(bytes: Buffer, release: () => void = NOTHING_HELD, holdsSlot = false): void {
    if (this.checkCancelled()) return release();
    let request: ModelInferRequestMessage;
    try {
      request = deserializeInferRequest(bytes);
    } catch {
      release();
      this.sendStatus(GrpcStatus.INTERNAL, 'Error deserializing request');
      return;
    }
    this.message(request, release, holdsSlot);
  }

  /** Gives back the slot of a message the handler has not taken. */
  protected releaseHeld(): void {
    this.stopHoldTimer();
    const release = this.heldSlot;
    this.heldSlot = undefined;
    release?.();
  }

  private halfClosed(): void {
    if (this.checkCancelled()) return;
    this.clientHalfClosed = true;
    this.stopHoldTimer(); // the handler runs now (after the messages still inflating)
    if (this.framer.midMessage) {
      this.sendStatus(GrpcStatus.INTERNAL, 'Received an incomplete message: the stream ended inside it');
      return;
    }
    if (this.inflating) this.queue(async () => this.allReceived());
    else this.allReceived();
  }

  private fail(error: unknown): void {
    if (error instanceof GrpcCallStatus) this.sendStatus(error.code, error.details);
    else this.sendStatus(GrpcStatus.INTERNAL, 'Internal server error');
  }
}

/** ModelInfer: one request message, then the handler, as grpc-js's handleUnary (which also waits for half-close). */
class LeanUnaryCall extends LeanCall {
  /** The request message, once read; the call itself is what the handler gets (metadata built only if read). */
  request: ModelInferRequestMessage | undefined;

  /** The one request (a second one is refused when read: refuseAnother). */
  protected message(request: ModelInferRequestMessage, release: () => void, holdsSlot: boolean): void {
    this.request = request;
    this.heldSlot = release; // until the handler has it, at half-close
    if (holdsSlot) this.boundHold();
  }

  /** As grpc-js's handleUnary, with its text; answered when read, so it neither waits for a slot nor inflates. */
  protected override refuseAnother(): boolean {
    this.sendStatus(GrpcStatus.UNIMPLEMENTED, `Received a second request message for server streaming method ${MODEL_INFER_PATH}`);
    return true;
  }

  protected allReceived(): void {
    if (!this.request) {
      this.sendStatus(GrpcStatus.UNIMPLEMENTED, `Received no request message for server streaming method ${MODEL_INFER_PATH}`);
      return;
    }
    try {
      // The handler decodes the request and hands it to the scheduler (or refuses it) before it returns.
      this.options.handlers.modelInfer(this as InferCall, (error, value) => {
        if (error) this.sendStatus(error.code ?? GrpcStatus.UNKNOWN, error.details ?? 'Unknown Error', error.metadata);
        else {
          this.sendMessage(serializeInferResponse(value as ModelInferResponseMessage));
          this.sendStatus(GrpcStatus.OK, 'OK');
        }
      });
    } catch {
      this.sendStatus(GrpcStatus.UNKNOWN, 'Unknown error');
    } finally {
      this.releaseHeld();
    }
  }
}

/** ModelStreamInfer: the handler reads requests as 'data' events and writes responses (stream-infer.ts). */
class LeanStreamCall extends LeanCall implements StreamInferCall {
  protected message(request: ModelInferRequestMessage, release: () => void): void {
    try {
      this.emit('data', request);
    } finally {
      release(); // the handler has decoded it and handed it on (or answered it)
    }
  }

  protected allReceived(): void {
    this.emit('end');
  }

  write(message: ModelStreamInferResponseMessage, callback?: () => void): boolean {
    this.sendMessage(serializeStreamInferResponse(message), callback);
    return true;
  }

  end(): void {
    this.sendStatus(GrpcStatus.OK, 'OK');
  }
}
