/**
 * gRPC's length-prefixed messages (1 byte compressed flag, 4 bytes big-endian length, the message) read from an
 * HTTP/2 stream's DATA chunks, and their decompression held to --grpc-max-message-bytes, for the lean infer path
 * (lean-infer.ts). Hand-written: grpc-js keeps its decoder and decompression inside its per-call machinery (not
 * exported), and no other library frames gRPC messages over node:http2. The status texts are grpc-js's, so a client
 * sees the same answer whichever path served it.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as zlib from 'node:zlib';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { InflateSlots } from '../http/compression';

/** A call's end with a status (what grpc-js calls a StatusObject, without metadata). */
export class GrpcCallStatus extends Error {
  constructor(
    readonly code: GrpcStatus,
    readonly details: string,
  ) {
    super(details);
  }
}

export interface GrpcFrame {
  readonly compressed: boolean;
  /** The message bytes, in a buffer of their own. */
  readonly payload: Buffer;
}

const PREFIX_BYTES = 5;
const MAX_LENGTH = bufferConstants.MAX_LENGTH;
/** The first buffer of a message split across chunks (it grows from there). */
const MIN_BODY_BUFFER = 64 * 1024;

/** Splits DATA chunks into messages; a declared length over the limit is refused before anything is allocated. */
export class GrpcMessageFramer {
  /** A prefix split across chunks is gathered here (allocated only then: most calls' prefixes come whole). */
  private prefix: Buffer | undefined;
  private prefixFilled = 0;
  private body: Buffer | undefined;
  private bodyFilled = 0;
  private bodyLength = 0;
  private compressed = false;

  constructor(private readonly maxMessageBytes: number) {}

  /** The messages the chunk completes (appended to `out`); throws a GrpcCallStatus for a bad prefix. */
  push(chunk: Buffer, out: GrpcFrame[]): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.body === undefined) {
        let length: number;
        if (this.prefixFilled === 0 && chunk.length - offset >= PREFIX_BYTES) {
          length = this.startMessage(chunk[offset], chunk.readUInt32BE(offset + 1));
          offset += PREFIX_BYTES;
        } else {
          this.prefix ??= Buffer.alloc(PREFIX_BYTES);
          const taken = chunk.copy(this.prefix, this.prefixFilled, offset, Math.min(chunk.length, offset + PREFIX_BYTES - this.prefixFilled));
          this.prefixFilled += taken;
          offset += taken;
          if (this.prefixFilled < PREFIX_BYTES) return;
          this.prefixFilled = 0;
          length = this.startMessage(this.prefix[0], this.prefix.readUInt32BE(1));
        }
        // Always a copy: Node's HTTP/2 reuses the memory behind a DATA chunk once its 'data' event is over, and a
        // request's tensors are views into its message.
        if (chunk.length - offset >= length) {
          out.push({ compressed: this.compressed, payload: Buffer.from(chunk.subarray(offset, offset + length)) });
          offset += length;
          continue;
        }
        // The buffer grows with the bytes that arrive (doubling, capped at the declared length), never to the
        // declared length up front: a prefix alone must not reserve up to --grpc-max-message-bytes.
        this.bodyLength = length;
        this.body = Buffer.allocUnsafe(Math.min(length, Math.max(MIN_BODY_BUFFER, chunk.length - offset)));
        this.bodyFilled = 0;
      }
      const wanted = Math.min(this.bodyLength - this.bodyFilled, chunk.length - offset);
      if (this.bodyFilled + wanted > this.body.length) {
        const grown = Buffer.allocUnsafe(Math.min(this.bodyLength, Math.max(this.bodyFilled + wanted, this.body.length * 2)));
        this.body.copy(grown, 0, 0, this.bodyFilled);
        this.body = grown;
      }
      const taken = chunk.copy(this.body, this.bodyFilled, offset, offset + wanted);
      this.bodyFilled += taken;
      offset += taken;
      if (this.bodyFilled === this.bodyLength) {
        out.push({ compressed: this.compressed, payload: this.body }); // grown to exactly bodyLength by now
        this.body = undefined;
      }
    }
  }

  /** Whether the stream so far ends inside a message (a truncated message if the stream ends here). */
  get midMessage(): boolean {
    return this.prefixFilled > 0 || this.body !== undefined;
  }

  private startMessage(flag: number, length: number): number {
    if (flag > 1) throw new GrpcCallStatus(GrpcStatus.INTERNAL, `Invalid message compression flag ${flag}`);
    if (length > this.maxMessageBytes) {
      throw new GrpcCallStatus(GrpcStatus.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${this.maxMessageBytes})`);
    }
    this.compressed = flag === 1;
    return length;
  }
}

/** The request encodings served (grpc-accept-encoding), as grpc-js. */
export const ACCEPTED_ENCODINGS = 'identity,deflate,gzip';

/** A message's bytes and its inflate slot, held until `release` (idempotent; a no-op for an uncompressed message). */
export interface HeldMessage {
  readonly bytes: Buffer;
  readonly release: () => void;
}

const NOTHING_HELD = () => undefined;

/**
 * The message's bytes, inflated if its compressed flag says so, with the inflate slot still held: the caller gives it
 * back once the handler has the message (or the call is over), so at most `slots.limit` inflated messages wait for a
 * handler at once, not only inflate at once. Others wait their turn, their bytes already held within the limit;
 * inflation is a zlib stream whose output is counted and stopped as soon as it passes the message limit. `signal` is
 * the call's end (status sent, deadline, cancel): a waiting message gives up its place, an inflating one is stopped
 * and its slot given back at once.
 */
export async function heldMessage(frame: GrpcFrame, encoding: string, maxMessageBytes: number, slots: InflateSlots, signal: AbortSignal): Promise<HeldMessage> {
  if (!frame.compressed) return { bytes: frame.payload, release: NOTHING_HELD };
  if (encoding === 'identity') {
    throw new GrpcCallStatus(GrpcStatus.INTERNAL, 'Received a compressed message but the call has no grpc-encoding');
  }
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new GrpcCallStatus(GrpcStatus.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`);
  }
  const callOver = () => new GrpcCallStatus(GrpcStatus.CANCELLED, 'Cancelled');
  if (signal.aborted) throw callOver();
  await new Promise<void>((resolve, reject) => {
    let ticket: ReturnType<typeof slots.acquire> | undefined;
    const onAbort = () => {
      if (ticket && slots.cancel(ticket)) reject(callOver());
    };
    // The listener goes on first: a free slot starts (and removes it) synchronously inside acquire().
    signal.addEventListener('abort', onAbort, { once: true });
    ticket = slots.acquire(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    slots.release();
  };
  try {
    if (signal.aborted) throw callOver();
    return { bytes: await inflateWithin(frame.payload, encoding, Math.max(1, Math.min(maxMessageBytes, MAX_LENGTH)), signal), release };
  } catch (error) {
    release();
    throw error;
  }
}

/** The message's bytes (heldMessage with the slot given back at once). */
export async function messageBytes(frame: GrpcFrame, encoding: string, maxMessageBytes: number, slots: InflateSlots, signal: AbortSignal): Promise<Buffer> {
  const { bytes, release } = await heldMessage(frame, encoding, maxMessageBytes, slots, signal);
  release();
  return bytes;
}

function inflateWithin(payload: Buffer, encoding: 'gzip' | 'deflate', maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    // Output chunks of up to 1 MiB (zlib's default is 16 KiB): a large message costs the event loop ~60 callbacks
    // per 60 MiB instead of ~4000; a small one gets a chunk of about its likely inflated size.
    const chunkSize = Math.min(2 ** 20, Math.max(zlib.constants.Z_DEFAULT_CHUNK, 2 ** Math.ceil(Math.log2(payload.length * 8))));
    const inflater = encoding === 'gzip' ? zlib.createGunzip({ chunkSize }) : zlib.createInflate({ chunkSize });
    const parts: Buffer[] = [];
    let total = 0;
    const stop = (error: GrpcCallStatus) => {
      signal.removeEventListener('abort', onAbort);
      inflater.destroy();
      reject(error);
    };
    const onAbort = () => stop(new GrpcCallStatus(GrpcStatus.CANCELLED, 'Cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    inflater.on('error', () => stop(new GrpcCallStatus(GrpcStatus.INTERNAL, 'Failed to decompress message')));
    inflater.on('data', (part: Buffer) => {
      total += part.length;
      if (total > maxBytes) stop(new GrpcCallStatus(GrpcStatus.RESOURCE_EXHAUSTED, `Received message that decompresses to a size larger than ${maxBytes}`));
      else parts.push(part);
    });
    inflater.on('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(parts.length === 1 ? parts[0] : Buffer.concat(parts, total));
    });
    inflater.end(payload);
  });
}
