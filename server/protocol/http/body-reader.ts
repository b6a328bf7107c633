/**
 * The request body reader behind every route (the content-type parser for '*'). It does what fastify's own
 * `parseAs: 'buffer'` reader does (same limit, same errors), but a body with a Content-Length is written chunk by
 * chunk into one buffer of that size instead of collecting the chunks and concatenating them at the end: the body is
 * held once, not twice, at its peak (64 MiB, not 128, at the default limit), and the copying is spread over the
 * chunks' arrival instead of one burst on the event loop once the last chunk is in. Hand-written because fastify
 * offers no such reader; its error codes are reused, so the mapping to Triton's texts (errors.ts) is unchanged.
 *
 * The buffer is taken from Buffer.allocUnsafe when the first chunk arrives: its pages are not touched (not resident)
 * until written, so a client that declares a large body and stalls costs what it has sent. Bodies without a usable
 * Content-Length (chunked transfer, or decompressed here, whose size is unknown until the end) are collected and
 * concatenated as before; decompressed bodies are also bounded by the inflate slots (compression.ts).
 *
 * The binary tensor extension puts the tensors' bytes right after a JSON header of any length: the body is placed in
 * its buffer so that they start 8-byte aligned, as typed arrays need, so the codec views them where they lie instead
 * of copying them (a 602 KB image whose header length is not a multiple of 4 was copied once more on the event loop).
 */
import type { Readable } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { errorCodes } from 'fastify';
import { INFERENCE_HEADER_CONTENT_LENGTH } from './codec';

/** A payload stream as fastify hands it over: DecodedBody (compression.ts) reports the encoded bytes it has read. */
type Payload = Readable & { receivedEncodedLength?: number };

type Done = (error: Error | null, body?: Buffer) => void;

/** Alignment of the binary section: the largest element size (FP64, INT64). */
const TENSOR_ALIGNMENT = 8;

/**
 * Bytes to leave before the body so that its binary section (after an Inference-Header-Content-Length JSON header)
 * starts aligned; 0 without a usable header (the codec validates it, this only places the bytes).
 */
export function binarySectionPadding(headerLength: string | string[] | undefined, bodyLength: number): number {
  const jsonLength = Number(headerLength);
  if (!Number.isSafeInteger(jsonLength) || jsonLength <= 0 || jsonLength >= bodyLength) return 0;
  return (TENSOR_ALIGNMENT - (jsonLength % TENSOR_ALIGNMENT)) % TENSOR_ALIGNMENT;
}

/** Read the whole body of `request` from `payload`, at most `limit` bytes. */
export function readBody(request: { readonly headers: IncomingHttpHeaders }, payload: Payload, limit: number, done: Done): void {
  const declared = Number(request.headers['content-length']);
  if (declared > limit) {
    done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    return;
  }
  // Decoded bodies differ in size from what Content-Length declares (the encoded bytes).
  const decoded = payload.receivedEncodedLength !== undefined;
  const preallocate = !decoded && Number.isSafeInteger(declared) && declared > 0;
  const padding = preallocate ? binarySectionPadding(request.headers[INFERENCE_HEADER_CONTENT_LENGTH], declared) : 0;
  let body: Buffer | undefined;
  const chunks: Buffer[] = [];
  let received = 0;

  const finish = (error: Error | null, result?: Buffer) => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onEnd);
    // A stream answered early (too large) may still fail later (a decoder's error): that must not go unhandled.
    payload.on('error', () => {});
    done(error, result);
  };
  function onData(chunk: Buffer | string): void {
    // A preParsing stream may emit strings.
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const before = received;
    received += bytes.length;
    if (received > limit || (payload.receivedEncodedLength ?? 0) > limit) {
      finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    if (!preallocate) {
      chunks.push(bytes);
      return;
    }
    if (received > declared) {
      finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    // Node's Buffers start 8-byte aligned (pooled ones included), so the padding aligns the binary section.
    body ??= Buffer.allocUnsafe(declared + padding).subarray(padding);
    bytes.copy(body, before);
  }
  function onEnd(error?: Error & { statusCode?: number }): void {
    if (error) {
      if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
      finish(error);
      return;
    }
    if (!Number.isNaN(declared) && (payload.receivedEncodedLength || received) !== declared) {
      finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    // A copy either way: the parser must never get a view of the socket's read buffer.
    finish(null, preallocate ? (body ?? Buffer.alloc(0)) : Buffer.concat(chunks, received));
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onEnd);
  payload.resume();
}
