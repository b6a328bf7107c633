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
 * The decoded body as a stream for fastify's body reader. `receivedEncodedLength` is the property fastify compares
 * with Content-Length (which counts the encoded bytes).
 */
class DecodedBody extends Transform {
  receivedEncodedLength = 0;
  private decodedLength = 0;

  constructor(
    private readonly source: IncomingMessage | Readable,
    private readonly inflater: Inflater,
    encoding: string,
    private readonly limit: number,
  ) {
    super();
    source.on('data', (chunk: Buffer) => {
      this.receivedEncodedLength += chunk.length;
    });
    source.on('error', (error) => this.destroy(error));
    inflater.on('error', (error) => {
      this.stopInflating();
      this.destroy(Errors.decompressFailed(encoding, error.message));
    });
    source.pipe(inflater).pipe(this);
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
export function installCompression(app: FastifyInstance, bodyLimit: number): void {
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
      done(null, new DecodedBody(payload, inflater, encoding, bodyLimit));
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
