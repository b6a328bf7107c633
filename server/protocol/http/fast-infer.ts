/**
 * OPT-IN, NOT THE DEFAULT (HttpAppOptions.fastInferPath, `--http-fast-infer-path`): plain infer requests answered by
 * node:http directly, in front of fastify. Fastify's per-request pipeline (request and reply objects, hooks, content
 * type lookup, body parser, reply.send) costs more CPU than the model on a tiny model (bench/README.md, "Small
 * requests"); no library offers a narrower path, so this is hand-written. It takes only what it answers exactly as the
 * fastify route would (routes/infer.ts, sharing its decode and encode): `POST /v2/models/<m>[/versions/<v>]/infer`
 * with a Content-Length body within the limit, no Content-Encoding or Accept-Encoding (compression stays fastify's),
 * no query string or percent-encoding in the path, while the server is not draining, not tracing, with no header
 * forwarding and no --http-restricted-api on inference. Everything else goes to fastify unchanged. As on the route, a
 * client gone before the answer cancels its request (client-gone.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RestrictedFeatures } from '../../core/restricted-features';
import type { InferenceServiceApi } from '../../core/service-api';
import { readBody } from './body-reader';
import { clientGoneSignal } from './client-gone';
import { attachSignal } from '../../core/cancellation';
import { INFERENCE_HEADER_CONTENT_LENGTH, type InferTarget } from './codec';
import { errorBody, FailureLog, HttpFailure, loggedFailure } from './errors';
import { decodeInferBody, encodeInferAnswer } from './routes/infer';

/**
 * The route's path, as fastify matches it (maxParamLength 1024, app.ts); '%', '?' and '#' (find-my-way ends the path
 * at either) are left to fastify.
 */
const INFER_PATH = /^\/v2\/models\/([^/?%#]{1,1024})(?:\/versions\/([^/?%#]{1,1024}))?\/infer$/;

const SILENT: FailureLog = { error: () => undefined, debug: () => undefined };

export interface FastInferOptions {
  readonly bodyLimit: number;
  readonly restrictedApis: RestrictedFeatures;
  readonly headerForwardPattern?: RegExp;
  readonly log?: FailureLog;
}

export class FastInferPath {
  private open = true;
  private served = 0;
  private readonly usable: boolean;

  constructor(
    private readonly service: InferenceServiceApi,
    private readonly options: FastInferOptions,
  ) {
    this.usable = options.headerForwardPattern === undefined && !options.restrictedApis.has('inference');
  }

  /** From now on every request goes to fastify (the drain: its 503s and Connection: close are fastify hooks). */
  stop(): void {
    this.open = false;
  }

  /** Requests answered here so far (tests check that a request did or did not take this path). */
  get count(): number {
    return this.served;
  }

  /** Answers `request` and returns true, or returns false having touched nothing (fastify takes it). */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    if (!this.open || !this.usable || request.method !== 'POST') return false;
    const match = INFER_PATH.exec(request.url ?? '');
    if (match === null) return false;
    const headers = request.headers;
    if (headers['content-encoding'] !== undefined || headers['accept-encoding'] !== undefined || headers['transfer-encoding'] !== undefined) {
      return false;
    }
    const length = Number(headers['content-length']);
    if (!Number.isSafeInteger(length) || length <= 0 || length > this.options.bodyLimit) return false;
    if (this.service.isTracing()) return false;
    this.served += 1;
    const target: InferTarget = { model: match[1], version: match[2] };
    readBody(request, request, this.options.bodyLimit, (error, body) => {
      if (error) this.fail(request, response, error);
      else this.answer(request, response, target, body!).catch((failure: unknown) => this.fail(request, response, failure));
    });
    return true;
  }

  private async answer(request: IncomingMessage, response: ServerResponse, target: InferTarget, body: Buffer): Promise<void> {
    const decoded = await decodeInferBody(this.service, target, body, request.headers);
    // As the fastify route (and Triton): a client that goes away before the answer is sent cancels the request.
    const encoded = encodeInferAnswer(decoded, await this.service.infer(attachSignal(decoded.request, clientGoneSignal(response))));
    // The route's headers, in its order.
    const headers: Record<string, string | number> = { 'content-type': encoded.contentType };
    if (encoded.inferenceHeaderLength !== undefined) headers[INFERENCE_HEADER_CONTENT_LENGTH] = encoded.inferenceHeaderLength;
    headers['content-length'] = Buffer.byteLength(encoded.body);
    response.writeHead(200, headers);
    response.end(encoded.body);
  }

  /** As fastify's error handler (errors.ts) answers: the same status, headers, body and log line. */
  private fail(request: IncomingMessage, response: ServerResponse, error: unknown): void {
    const failure: HttpFailure = loggedFailure(error, this.options.bodyLimit, request, this.options.log ?? SILENT, 'fast-infer');
    if (response.headersSent || response.destroyed) return;
    const body = errorBody(failure.message);
    response.writeHead(failure.statusCode, {
      ...failure.headers,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
  }
}
