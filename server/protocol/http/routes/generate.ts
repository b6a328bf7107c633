/**
 * Triton's generate extension: POST /v2/models/{m}[/versions/{v}]/generate answers one flat JSON object;
 * .../generate_stream answers Server-Sent Events, one `data: {...}` per response as the model sends them (decoupled
 * models: any number). A request that fails before its first response gets the usual JSON error and status; an
 * error after that (the status is sent by then) arrives as `data: {"error": "..."}`, as in Triton.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, InferenceError, toInferenceError } from '../../../core/errors';
import type { InferenceServiceApi } from '../../../core/service-api';
import type { InferRequest, InferResponse } from '../../../core/types';
import { errorBody } from '../errors';
import { decodeGenerateRequest, encodeGenerateResponse } from '../generate-codec';
import { ModelParams, modelPaths, RouteOptions } from './options';

const EMPTY_BODY = Buffer.alloc(0);

function decode(service: InferenceServiceApi, request: FastifyRequest<{ Params: ModelParams }>): InferRequest {
  const { model, version } = request.params;
  const body = Buffer.isBuffer(request.body) ? request.body : EMPTY_BODY;
  const batching = (service.modelConfig(model, version).max_batch_size ?? 0) > 0;
  return decodeGenerateRequest(body, { model, version }, service.modelMetadata(model, version), batching);
}

export async function generateRoutes(app: FastifyInstance, { service }: RouteOptions): Promise<void> {
  const generate = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const decoded = decode(service, request);
    const responses: InferResponse[] = [];
    let failure: InferenceError | undefined;
    await service.inferStream(decoded, (event) => {
      if (event && 'error' in event) failure ??= event.error;
      else if (event) responses.push(event.response);
    });
    if (failure) throw failure;
    if (responses.length !== 1) throw Errors.generateResponseCount(responses.length);
    reply.header('content-type', 'application/json');
    return reply.send(encodeGenerateResponse(responses[0]));
  };

  const generateStream = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const decoded = decode(service, request);
    let started = false;
    const raw = reply.raw;
    const send = (text: string) => {
      if (!started) {
        started = true;
        reply.hijack();
        raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      }
      if (!raw.destroyed) raw.write(`data: ${text}\n\n`);
    };
    try {
      await service.inferStream(decoded, (event) => {
        if (!event) return;
        send('error' in event ? errorBody(event.error.message) : encodeGenerateResponse(event.response));
      });
    } catch (error) {
      if (!started) throw error; // nothing sent yet: the usual JSON error and status
      send(errorBody(toInferenceError(error).message));
    }
    if (!started) send(errorBody(Errors.generateResponseCount(0).message));
    raw.end();
    return reply;
  };

  for (const path of modelPaths('/generate')) app.post<{ Params: ModelParams }>(path, generate);
  for (const path of modelPaths('/generate_stream')) app.post<{ Params: ModelParams }>(path, generateStream);
}
