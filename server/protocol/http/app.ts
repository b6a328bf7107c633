/**
 * The HTTP/REST frontend (KServe v2 + Triton extensions) as a fastify instance, built but not listening.
 */
import Fastify, { FastifyBaseLogger, FastifyInstance, FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { InferenceServiceApi } from '../../core/service-api';
import { installCompression } from './compression';
import { installTritonContentType } from './content-type';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandling } from './errors';
import { registerRoutes } from './routes';

/** Triton's --http-max-input-size default. */
export const DEFAULT_HTTP_BODY_LIMIT = 64 * 1024 * 1024;

export interface HttpAppOptions {
  /** Largest request body, after decompression, in bytes. @default 64 MiB */
  readonly bodyLimit?: number;
  /** Errors are logged here (5xx at error, the rest at debug); per-request lines are off, they cost throughput. */
  readonly logger?: Logger | false;
}

export function buildHttpApp(service: InferenceServiceApi, options: HttpAppOptions = {}): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_HTTP_BODY_LIMIT;
  const app = Fastify({
    bodyLimit,
    ...(options.logger ? { loggerInstance: options.logger as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    // Model names are path parameters; Triton puts no small limit on them.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: frameworkErrorHandler(bodyLimit),
    clientErrorHandler,
  }) as unknown as FastifyInstance;

  installErrorHandling(app, bodyLimit);
  installTritonContentType(app);
  // Triton ignores Content-Type, so clients send anything (or an empty or malformed value, which fastify would refuse
  // with 415 before any hook of ours runs): never let it decide.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.headers['content-type'] !== undefined) request.headers['content-type'] = 'application/octet-stream';
    done();
  });
  // Every body is read as raw bytes: the infer route needs the exact bytes for the binary extension, and the
  // repository routes parse their optional JSON themselves, empty bodies included.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request: FastifyRequest, body: Buffer | string, done) => {
    done(null, body);
  });
  installCompression(app, bodyLimit);
  registerRoutes(app, { service });
  return app;
}
