/**
 * POST /v2/models/{m}[/versions/{v}]/infer — the hot path. The body arrives as a raw Buffer whatever its
 * content type (JSON, or JSON + binary tensors); the response is written as a ready string or Buffer with an
 * explicit content type, so fastify does no serialization work of its own.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  decodeInferRequest,
  decodeRawInferRequest,
  DecodedInferRequest,
  encodeInferResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
  InferTarget,
  parseInferenceHeaderLength,
} from '../codec';
import { ModelParams, modelPaths, RouteOptions } from './options';
import type { InferenceServiceApi } from '../../../core/service-api';

const EMPTY_BODY = Buffer.alloc(0);

function decode(service: InferenceServiceApi, request: FastifyRequest<{ Params: ModelParams }>): DecodedInferRequest {
  const body = Buffer.isBuffer(request.body) ? request.body : EMPTY_BODY;
  const target: InferTarget = { model: request.params.model, version: request.params.version };
  const jsonLength = parseInferenceHeaderLength(request.headers[INFERENCE_HEADER_CONTENT_LENGTH], body.length);
  if (jsonLength === 0) {
    // Raw request: the body is the only input's data, described by the model metadata.
    return decodeRawInferRequest(body, target, service.modelMetadata(target.model, target.version).inputs);
  }
  return decodeInferRequest(body, target, jsonLength);
}

export async function inferRoutes(app: FastifyInstance, { service }: RouteOptions): Promise<void> {
  const handler = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const decoded = decode(service, request);
    const response = await service.infer(decoded.request);
    const encoded = encodeInferResponse(
      response.id === undefined && decoded.request.id !== undefined ? { ...response, id: decoded.request.id } : response,
      decoded.outputEncoding,
    );
    reply.header('content-type', encoded.contentType);
    if (encoded.inferenceHeaderLength !== undefined) {
      reply.header(INFERENCE_HEADER_CONTENT_LENGTH, encoded.inferenceHeaderLength);
    }
    return reply.send(encoded.body);
  };

  for (const path of modelPaths('/infer')) app.post<{ Params: ModelParams }>(path, handler);
}
