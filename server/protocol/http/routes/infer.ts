/**
 * POST /v2/models/{m}[/versions/{v}]/infer — the hot path. The body arrives as a raw Buffer whatever its
 * content type (JSON, or JSON + binary tensors); the response is written as a ready string or Buffer with an
 * explicit content type, so fastify does no serialization work of its own.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  decodeInferRequestAsync,
  decodeRawInferRequest,
  DecodedInferRequest,
  EncodedInferResponse,
  encodeInferResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
  InferTarget,
  parseInferenceHeaderLength,
} from '../codec';
import { clientGoneSignal } from '../client-gone';
import { attachSignal } from '../../../core/cancellation';
import { ModelParams, modelPaths, RouteOptions } from './options';
import { forwardHeaders } from '../../../core/header-forwarding';
import type { RequestTrace } from '../../../core/request-trace';
import type { InferenceServiceApi } from '../../../core/service-api';
import type { InferResponse } from '../../../core/types';

const EMPTY_BODY = Buffer.alloc(0);

/**
 * The infer request in `body` for `target` (this route's, the opt-in fast path's in fast-infer.ts, and bench:http's
 * node:http floor's). As Triton, the model is looked up before the body is parsed.
 */
export async function decodeInferBody(
  service: InferenceServiceApi,
  target: InferTarget,
  body: Buffer,
  headers: IncomingHttpHeaders,
): Promise<DecodedInferRequest> {
  const jsonLength = parseInferenceHeaderLength(headers[INFERENCE_HEADER_CONTENT_LENGTH], body.length);
  if (jsonLength === 0) {
    // Raw request: the body is the only input's data, described by the model metadata.
    const { inputs } = service.modelMetadata(target.model, target.version);
    const batched = (service.modelConfig(target.model, target.version).max_batch_size ?? 0) > 0;
    return decodeRawInferRequest(body, target, { inputs, batched });
  }
  // A request for a model that does not exist costs nothing more. The inputs' names and datatypes are checked once
  // the JSON is read, before the tensors are made.
  service.checkInferTarget(target.model, target.version, undefined, []);
  return decodeInferRequestAsync(body, target, jsonLength, (rid, inputs) => service.checkInferTarget(target.model, target.version, rid, inputs));
}

/** The answer to `decoded`: its id is kept when the model's response has none. */
export function encodeInferAnswer(decoded: DecodedInferRequest, response: InferResponse): EncodedInferResponse {
  return encodeInferResponse(
    response.id === undefined && decoded.request.id !== undefined ? { ...response, id: decoded.request.id } : response,
    decoded.outputEncoding,
  );
}

/** The trace's HTTP_SEND_* timestamps: it is written once the response has gone out (or the connection closed). */
function traceSend(trace: RequestTrace, reply: FastifyReply): void {
  trace.capture('HTTP_SEND_START');
  const sent = () => {
    trace.capture('HTTP_SEND_END');
    trace.finish();
  };
  reply.raw.once('finish', sent);
  reply.raw.once('close', sent);
}

/** The request's headers as sent (name case kept, as Triton forwards them): [name, value] pairs. */
function* rawHeaderPairs(raw: readonly string[]): Iterable<readonly [string, string]> {
  for (let i = 0; i + 1 < raw.length; i += 2) yield [raw[i], raw[i + 1]];
}

export async function inferRoutes(app: FastifyInstance, { service, headerForwardPattern }: RouteOptions): Promise<void> {
  // HTTP_RECV_START of requests that arrive while tracing is on (nothing is kept otherwise).
  const receivedAt = new WeakMap<FastifyRequest, bigint>();
  const onRequest = (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    if (service.isTracing()) receivedAt.set(request, process.hrtime.bigint());
    done();
  };

  const handler = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const startNs = service.isTracing() ? receivedAt.get(request) : undefined;
    const endNs = startNs === undefined ? undefined : process.hrtime.bigint();
    const target: InferTarget = { model: request.params.model, version: request.params.version };
    const decoded = await decodeInferBody(service, target, Buffer.isBuffer(request.body) ? request.body : EMPTY_BODY, request.headers);
    let inferRequest = endNs === undefined ? decoded.request : { ...decoded.request, received: { protocol: 'HTTP' as const, startNs: startNs!, endNs } };
    if (headerForwardPattern) inferRequest = forwardHeaders(inferRequest, rawHeaderPairs(request.raw.rawHeaders), headerForwardPattern);
    // As Triton, a request whose client goes away before the response is sent is cancelled (client-gone.ts).
    const response = await service.infer(attachSignal(inferRequest, clientGoneSignal(reply.raw)));
    if (response.trace) traceSend(response.trace, reply);
    const encoded = encodeInferAnswer(decoded, response);
    reply.header('content-type', encoded.contentType);
    if (encoded.inferenceHeaderLength !== undefined) {
      reply.header(INFERENCE_HEADER_CONTENT_LENGTH, encoded.inferenceHeaderLength);
    }
    // Triton compresses successful infer responses only (when the client accepts gzip or deflate).
    return reply.compress(encoded.body);
  };

  for (const path of modelPaths('/infer')) app.post<{ Params: ModelParams }>(path, { onRequest }, handler);
}
