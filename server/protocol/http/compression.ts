/**
 * Content-Encoding / Accept-Encoding, gzip and deflate as Triton offers them.
 * Requests: decompressed here, before the body is read, with the decoded size held to the body limit (a small
 * gzip bomb would otherwise expand without bound; this stops the inflater as soon as the limit is passed).
 * Responses: @fastify/compress, negotiated from Accept-Encoding, for successful infer responses only (routes call
 * `reply.compress`), as Triton compresses nothing else: clients such as aiohttp's read its other answers as sent.
 */
import type { IncomingMessage } from 'node:http';
import { Readable, Transform, TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';
import fastifyCompress from '@fastify/compress';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors } from '../../core/errors';
import { HttpErrors } from './errors';

type Inflater = zlib.Gunzip | zlib.Inflate;

function inflaterFor(encoding: string): Inflater | undefined {
  if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.createGunzip();
  if (encoding === 'deflate') return zlib.createInflate();
  return undefined;
}

/**
 * At most `limit` request bodies inflate at once; the others wait with their sockets paused (TCP back-pressure, no
 * memory held). Each inflating body may grow to the body limit, so this bounds what compressed requests can make the
 * server hold, stalled ones included (they end at the request timeout and free their slot).
 */
/** A place in InflateSlots' queue. */
export type InflateTicket = () => void;

export class InflateSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Runs `start` now or once a slot is free; the ticket lets a waiter give up its place (cancel). */
  acquire(start: () => void): InflateTicket {
    if (this.active < this.limit) {
      this.active++;
      start();
    } else {
      this.waiting.push(start);
    }
    return start;
  }

  /** Takes a waiting ticket out of the queue; false when it already got its slot (its holder releases it). */
  cancel(ticket: InflateTicket): boolean {
    const index = this.waiting.indexOf(ticket);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    return true;
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  /** Bodies inflating now and bodies waiting (for tests and metrics). */
  get counts(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }
}

/** Request bodies inflated at once by default: 4 × the 64 MiB body limit at most. */
export const DEFAULT_MAX_CONCURRENT_INFLATE = 4;

/**
 * The decoded body as a stream for fastify's body reader. `receivedEncodedLength` is the property fastify compares
 * with Content-Length (which counts the encoded bytes).
 */
class DecodedBody extends Transform {
  receivedEncodedLength = 0;
  private decodedLength = 0;

  private released = false;

  constructor(
    private readonly source: IncomingMessage | Readable,
    private readonly inflater: Inflater,
    encoding: string,
    private readonly limit: number,
    private readonly slots: InflateSlots,
  ) {
    super();
    source.pause();
    source.on('data', (chunk: Buffer) => {
      this.receivedEncodedLength += chunk.length;
    });
    source.on('error', (error) => this.destroy(error));
    inflater.on('error', (error) => {
      this.stopInflating();
      this.destroy(Errors.decompressFailed(encoding, error.message));
    });
    // The slot goes back when this body is done either way: read, refused, or its connection closed or timed out.
    this.once('close', () => this.releaseSlot());
    this.once('end', () => this.releaseSlot());
    slots.acquire(() => {
      if (this.destroyed) {
        this.releaseSlot();
        return;
      }
      source.pipe(inflater).pipe(this);
    });
  }

  private releaseSlot(): void {
    if (this.released) return;
    this.released = true;
    this.slots.release();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.decodedLength += chunk.length;
    if (this.decodedLength > this.limit) {
      this.stopInflating();
      callback(Errors.decompressedTooLarge(this.limit));
      return;
    }
    callback(null, chunk);
  }

  /** Stop decompressing but keep draining the socket, so the error response can still be written. */
  private stopInflating(): void {
    this.source.unpipe(this.inflater);
    this.inflater.unpipe(this);
    this.inflater.destroy();
    this.source.resume();
  }
}

function hasBody(request: FastifyRequest): boolean {
  const { 'content-length': length, 'transfer-encoding': transfer } = request.headers;
  return transfer !== undefined || (length !== undefined && length !== '0');
}

/** The request body's coding, undefined when there is nothing to decode. */
function requestEncoding(request: FastifyRequest): string | undefined {
  const header = request.headers['content-encoding'];
  if (header === undefined || !hasBody(request)) return undefined;
  const encoding = header.trim().toLowerCase();
  return encoding === '' || encoding === 'identity' ? undefined : encoding;
}

/** Install request decompression (a root preParsing hook) and response compression (@fastify/compress). */
export function installCompression(app: FastifyInstance, bodyLimit: number, slots = new InflateSlots(DEFAULT_MAX_CONCURRENT_INFLATE)): void {
  app.addHook(
    'preParsing',
    (request: FastifyRequest, _reply: FastifyReply, payload: Readable, done: (error: Error | null, stream?: Readable) => void) => {
      const encoding = requestEncoding(request);
      // The header goes once handled, so nothing downstream (@fastify/compress included) decodes the body twice.
      delete request.headers['content-encoding'];
      if (encoding === undefined) {
        done(null, payload);
        return;
      }
      const inflater = inflaterFor(encoding);
      if (!inflater) {
        done(HttpErrors.unsupportedContentEncoding(encoding.slice(0, 64)));
        return;
      }
      done(null, new DecodedBody(payload, inflater, encoding, bodyLimit, slots));
    },
  );

  void app.register(fastifyCompress, {
    // Off by default: only the infer route opts in, through reply.compress (errors and every other route stay plain).
    global: false,
    encodings: ['gzip', 'deflate'],
    // Triton compresses whatever the client accepts, however small.
    threshold: 0,
  });
}
