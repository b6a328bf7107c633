/**
 * The HTTP frontend's only error mapping: core error code → HTTP status, and every other failure (fastify's own,
 * transport-level ones, bugs) → a status plus a message that is safe to show. Bodies are always `{"error": "..."}`.
 */
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, Errors, InferenceError, isInferenceError } from '../../core/errors';

/** Status for a core error code, as current Triton derives it (http_server.cc HttpCodeFromError). */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'NOT_FOUND':
      return 404;
    case 'UNAVAILABLE':
      return 503;
    case 'UNSUPPORTED':
      return 501;
    case 'INTERNAL':
      return 500;
    case 'TOO_LARGE':
      return 413;
    default:
      return 400;
  }
}

/** A transport-level failure with no core error code (wrong method, unknown content coding): it carries its status. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const HttpErrors = {
  methodNotAllowed: () => new HttpError(405, 'Method Not Allowed'),
  /** --http-restricted-api: Triton's RespondIfRestricted (403). */
  apiRestricted: (header: string) => new HttpError(403, `This API is restricted, expecting header '${header}'`),
  unsupportedContentEncoding: (encoding: string) =>
    new HttpError(415, `Unsupported compression type '${encoding}'`, { 'accept-encoding': 'gzip, deflate' }),
};

export interface HttpFailure {
  readonly statusCode: number;
  readonly message: string;
  readonly headers: Readonly<Record<string, string>>;
}

const INTERNAL_MESSAGE = 'Internal Server Error';

/** What an error message may say about the request it answers (fastify's errors carry none of it). */
export interface RequestFacts {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * A body over the limit, in Triton's words (400): a raw binary request (Inference-Header-Content-Length: 0) is
 * "Raw input ...", anything else "request JSON size of ...", with the size the client declared when it did.
 */
function bodyTooLarge(bodyLimit: number, request: RequestFacts | undefined): InferenceError {
  const declared = Number(request?.headers['content-length']);
  const size = Number.isSafeInteger(declared) && declared > bodyLimit ? declared : undefined;
  return request?.headers['inference-header-content-length'] === '0'
    ? Errors.rawInputTooLarge(bodyLimit, size)
    : Errors.bodyTooLarge(bodyLimit, size);
}

/** Fastify's own request errors that map onto a catalogue entry; the rest keep fastify's 4xx status and message. */
function fromFastifyCode(code: string, message: string, bodyLimit: number, request: RequestFacts | undefined): InferenceError | undefined {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return bodyTooLarge(bodyLimit, request);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_BAD_URL':
      return Errors.invalidRequest(message);
    default:
      return undefined;
  }
}

/** Turn anything thrown while handling a request into a status and a client-safe message (never a stack). */
export function toHttpFailure(error: unknown, bodyLimit: number, request?: RequestFacts): HttpFailure {
  // InferenceError first: fastify stamps statusCode 400 on errors raised by body streams, which must not win.
  if (isInferenceError(error)) return { statusCode: httpStatusOf(error.code), message: error.message, headers: {} };
  if (error instanceof HttpError) return { statusCode: error.statusCode, message: error.message, headers: error.headers };
  if (error instanceof Error) {
    const { code, statusCode } = error as Error & { code?: unknown; statusCode?: unknown };
    if (typeof code === 'string') {
      const mapped = fromFastifyCode(code, error.message, bodyLimit, request);
      if (mapped) return toHttpFailure(mapped, bodyLimit);
    }
    // Client errors from fastify and its plugins (media type, JSON, content length...): their message is about the request.
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      return { statusCode, message: error.message, headers: {} };
    }
  }
  return { statusCode: 500, message: INTERNAL_MESSAGE, headers: {} };
}

/** What a request that failed with `error` is answered, logged: unexpected 5xx at error, the rest at debug. */
export function loggedFailure(error: unknown, bodyLimit: number, request: RequestFacts, log: FailureLog, reqId: string): HttpFailure {
  const failure = toHttpFailure(error, bodyLimit, request);
  if (failure.statusCode >= 500 && !isInferenceError(error)) {
    log.error({ reqId, err: error }, 'unexpected error while handling a request');
  } else {
    log.debug({ reqId, statusCode: failure.statusCode, error: failure.message }, 'request failed');
  }
  return failure;
}

/** The two levels loggedFailure writes at (fastify's request logger, or the server's pino logger). */
export interface FailureLog {
  error(object: object, message: string): void;
  debug(object: object, message: string): void;
}

export function errorBody(message: string): string {
  return JSON.stringify({ error: message });
}

export function sendFailure(reply: FastifyReply, failure: HttpFailure): FastifyReply {
  reply.code(failure.statusCode).headers(failure.headers).type('application/json');
  return reply.send(errorBody(failure.message));
}

/** Paths the server serves (Triton's URL patterns); a known path with the wrong method is 405, anything else 404. */
const KNOWN_PATHS: readonly RegExp[] = [
  /^\/v2(?:\/health\/(?:live|ready))?$/,
  /^\/v2\/models\/stats$/,
  /^\/v2\/models\/[^/]+(?:\/versions\/[^/]+)?(?:\/(?:infer|ready|config|stats|generate|generate_stream))?$/,
  /^\/v2\/repository\/index$/,
  /^\/v2\/repository\/models\/[^/]+\/(?:load|unload)$/,
];

function isKnownPath(url: string): boolean {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return KNOWN_PATHS.some((pattern) => pattern.test(path));
}

/** Install the error handler, the not-found handler and the framework-error hook on the root instance. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) =>
    sendFailure(reply, loggedFailure(error, bodyLimit, request, request.log, request.id)),
  );

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const failure = isKnownPath(request.url)
      ? toHttpFailure(HttpErrors.methodNotAllowed(), bodyLimit)
      : toHttpFailure(Errors.notFoundRoute(request.method, request.url), bodyLimit);
    return sendFailure(reply, failure);
  });
}

/** For fastify's `frameworkErrors` option: router-level failures (malformed URL encoding) get the same JSON body. */
export function frameworkErrorHandler(bodyLimit: number) {
  return (error: Error, request: FastifyRequest, reply: FastifyReply): void => {
    sendFailure(reply, toHttpFailure(error, bodyLimit, request));
  };
}

/**
 * For fastify's `clientErrorHandler` option: requests so malformed that Node's HTTP parser rejects them (bad framing,
 * oversized headers, timeouts) still get a `{"error": ...}` body before the connection closes.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, detail] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request timed out']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'request headers exceed the allowed size']
        : [400, 'Bad Request', 'malformed HTTP request'];
  const body = errorBody(detail);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
