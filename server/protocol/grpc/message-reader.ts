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

/** Splits DATA chunks into messages; a declared length over the limit is refused before anything is allocated. */
export class GrpcMessageFramer {
  /** A prefix split across chunks is gathered here (allocated only then: most calls' prefixes come whole). */
  private prefix: Buffer | undefined;
  private prefixFilled = 0;
  private body: Buffer | undefined;
  private bodyFilled = 0;
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
        // One buffer of the message's declared size, filled as DATA arrives (resident as it fills). Always a copy:
        // Node's HTTP/2 reuses the memory behind a DATA chunk once its 'data' event is over, and a request's tensors
        // are views into its message.
        if (chunk.length - offset >= length) {
          out.push({ compressed: this.compressed, payload: Buffer.from(chunk.subarray(offset, offset + length)) });
          offset += length;
          continue;
        }
        this.body = Buffer.allocUnsafe(length);
        this.bodyFilled = 0;
      }
      const taken = chunk.copy(this.body, this.bodyFilled, offset);
      this.bodyFilled += taken;
      offset += taken;
      if (this.bodyFilled === this.body.length) {
        out.push({ compressed: this.compressed, payload: this.body });
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

/**
 * The message's bytes, inflated if its compressed flag says so. Inflation runs in zlib's thread pool with
 * `maxOutputLength` = the message limit, so it stops as soon as the inflated size passes the limit, and at most
 * `slots.limit` messages inflate at once (others wait their turn, their bytes already held within the limit).
 */
export async function messageBytes(frame: GrpcFrame, encoding: string, maxMessageBytes: number, slots: InflateSlots): Promise<Buffer> {
  if (!frame.compressed) return frame.payload;
  if (encoding === 'identity') {
    throw new GrpcCallStatus(GrpcStatus.INTERNAL, 'Received a compressed message but the call has no grpc-encoding');
  }
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new GrpcCallStatus(GrpcStatus.UNIMPLEMENTED, `Received message compressed with unsupported encoding "${encoding}"`);
  }
  await new Promise<void>((resolve) => slots.acquire(resolve));
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const done = (error: Error | null, result: Buffer) => {
        if (!error) resolve(result);
        else if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
          reject(new GrpcCallStatus(GrpcStatus.RESOURCE_EXHAUSTED, `Received message that decompresses to a size larger than ${maxMessageBytes}`));
        } else reject(new GrpcCallStatus(GrpcStatus.INTERNAL, 'Failed to decompress message'));
      };
      // Output chunks of up to 1 MiB (zlib's default is 16 KiB): a large message costs the event loop ~60 callbacks
      // per 60 MiB instead of ~4000; a small one gets a chunk of about its likely inflated size.
      const chunkSize = Math.min(2 ** 20, Math.max(zlib.constants.Z_DEFAULT_CHUNK, 2 ** Math.ceil(Math.log2(frame.payload.length * 8))));
      const options = { maxOutputLength: Math.max(1, Math.min(maxMessageBytes, MAX_LENGTH)), chunkSize };
      if (encoding === 'gzip') zlib.gunzip(frame.payload, options, done);
      else zlib.inflate(frame.payload, options, done);
    });
  } finally {
    slots.release();
  }
}
