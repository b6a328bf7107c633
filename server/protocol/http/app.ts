/**
 * The HTTP/REST frontend (KServe v2 + Triton extensions) as a fastify instance, built but not listening.
 */
import * as http from 'node:http';
import type { Readable } from 'node:stream';
import Fastify, { FastifyBaseLogger, FastifyInstance, FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { RestrictedFeatures } from '../../core/restricted-features';
import type { InferenceServiceApi } from '../../core/service-api';
import { readBody } from './body-reader';
import { DEFAULT_MAX_CONCURRENT_INFLATE, InflateSlots, installCompression } from './compression';
import { installTritonContentType } from './content-type';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandling } from './errors';
import { FastInferPath } from './fast-infer';
import { installRestrictedApis } from './restricted';
import { registerRoutes } from './routes';

/** Every request body's Content-Type once the frontend has read its header (Triton ignores what clients send). */
const BODY_CONTENT_TYPE = 'application/octet-stream';

/**
 * Time to receive a whole request, headers and body (fastify's requestTimeout; Node's headersTimeout of 60 s applies to
 * the headers). A client that stalls mid-body would otherwise hold its buffered body (up to the body limit) forever.
 */
export const DEFAULT_HTTP_REQUEST_TIMEOUT_MS = 120_000;

/** Triton's --http-max-input-size default. */
export const DEFAULT_HTTP_BODY_LIMIT = 64 * 1024 * 1024;

export interface HttpAppOptions {
  /** Largest request body, after decompression, in bytes. @default 64 MiB */
  readonly bodyLimit?: number;
  /** Time to receive a whole request, in ms (0: none). @default DEFAULT_HTTP_REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
  /** Request bodies decompressed at once; more wait, paused. @default DEFAULT_MAX_CONCURRENT_INFLATE */
  readonly maxConcurrentInflate?: number;
  /** Errors are logged here (5xx at error, the rest at debug); per-request lines are off, they cost throughput. */
  readonly logger?: Logger | false;
  /** --http-header-forward-pattern (see core/header-forwarding.ts). @default none forwarded */
  readonly headerForwardPattern?: RegExp;
  /** --http-restricted-api: groups of endpoints that require a header. @default none restricted */
  readonly restrictedApis?: RestrictedFeatures;
  /** --http-fast-infer-path: plain infer requests answered by node:http in front of fastify (fast-infer.ts). @default false */
  readonly fastInferPath?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The opt-in infer fast path in front of this instance, when on (the drain stops it). */
    inferFastPath?: FastInferPath;
  }
}

/**
 * A node:http server whose requests go to the fast path first, fastify's handler otherwise. It is set up as fastify
 * sets up its own server (lib/server.js: the http options, then the timeouts), which a serverFactory must repeat.
 */
function fastPathServer(fastPath: FastInferPath) {
  return (handler: http.RequestListener, opts: Record<string, unknown>): http.Server => {
    // Fastify's own options, its defaults filled in.
    const options = opts as { http?: http.ServerOptions; keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number };
    const server = http.createServer(options.http ?? {}, (request, response) => {
      if (!fastPath.handle(request, response)) handler(request, response);
    });
    server.keepAliveTimeout = options.keepAliveTimeout;
    server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout);
    return server;
  };
}

export function buildHttpApp(service: InferenceServiceApi, options: HttpAppOptions = {}): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_HTTP_BODY_LIMIT;
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_HTTP_REQUEST_TIMEOUT_MS;
  const restrictedApis = options.restrictedApis ?? new Map();
  const fastPath = options.fastInferPath
    ? new FastInferPath(service, { bodyLimit, restrictedApis, headerForwardPattern: options.headerForwardPattern, log: options.logger || undefined })
    : undefined;
  const app = Fastify({
    ...(fastPath ? { serverFactory: fastPathServer(fastPath) } : {}),
    bodyLimit,
    requestTimeout,
    // Node checks the timeouts every connectionsCheckingInterval (30 s by default): a quarter of the timeout keeps
    // the overshoot small for short timeouts.
    ...(requestTimeout > 0 ? { http: { connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))) } } : {}),
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's default makes a pino child logger (bound to the request id) for every request, a few µs each; nothing
    // logs per request here, so requests share the server's logger and the few error lines name the request id
    // themselves (errors.ts).
    childLoggerFactory: (logger: FastifyBaseLogger) => logger,
    // Model names are path parameters; Triton puts no small limit on them.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: frameworkErrorHandler(bodyLimit),
    clientErrorHandler,
  }) as unknown as FastifyInstance;

  // Node only enforces requestTimeout while headersTimeout (60 s) is not above it.
  if (requestTimeout > 0) app.server.headersTimeout = Math.min(app.server.headersTimeout, requestTimeout);
  installErrorHandling(app, bodyLimit);
  installTritonContentType(app);
  // First of the onRequest hooks: a refused request costs nothing more (its body is never read).
  installRestrictedApis(app, restrictedApis);
  // Triton ignores Content-Type, so clients send anything (or an empty or malformed value, which fastify would refuse
  // with 415 before any hook of ours runs): never let it decide.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.headers['content-type'] !== undefined) request.headers['content-type'] = BODY_CONTENT_TYPE;
    done();
  });
  // Every body is read as raw bytes: the infer route needs the exact bytes for the binary extension, and the
  // repository routes parse their optional JSON themselves, empty bodies included. body-reader.ts: one buffer of the
  // declared size, not chunks concatenated at the end.
  app.removeAllContentTypeParsers();
  const parseBody = (request: FastifyRequest, payload: Readable, done: (error: Error | null, body?: Buffer) => void) =>
    readBody(request, payload, bodyLimit, done);
  app.addContentTypeParser('*', parseBody);
  // The same reader under the type the hook above gives every body: fastify caches the parser it finds for an exact
  // type, but never the catch-all, so without this it parsed the Content-Type again for every request.
  app.addContentTypeParser(BODY_CONTENT_TYPE, parseBody);
  installCompression(app, bodyLimit, new InflateSlots(options.maxConcurrentInflate ?? DEFAULT_MAX_CONCURRENT_INFLATE));
  registerRoutes(app, { service, headerForwardPattern: options.headerForwardPattern });
  if (fastPath) app.decorate('inferFastPath', fastPath);
  return app;
}
