/**
 * Triton's generate extension: POST /v2/models/{m}[/versions/{v}]/generate answers one flat JSON object;
 * .../generate_stream answers Server-Sent Events, one `data: {...}` per response as the model sends them (decoupled
 * models: any number). A request refused before it runs gets the usual JSON error and status; the model's responses,
 * errors included, arrive as `data: {...}` events, the first one setting the status (as in Triton).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Errors, InferenceError, toInferenceError } from '../../../core/errors';
import type { InferenceServiceApi } from '../../../core/service-api';
import type { InferRequest, InferResponse } from '../../../core/types';
import { clientGoneSignal } from '../client-gone';
import { errorBody, httpStatusOf } from '../errors';
import { decodeGenerateRequest, encodeGenerateResponse } from '../generate-codec';
import { ModelParams, modelPaths, RouteOptions } from './options';

const EMPTY_BODY = Buffer.alloc(0);

/** The request, cancelled when its client goes away before the response ended (as Triton, client-gone.ts). */
function decode(service: InferenceServiceApi, request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply): InferRequest {
  const { model, version } = request.params;
  const body = Buffer.isBuffer(request.body) ? request.body : EMPTY_BODY;
  const decoded = decodeGenerateRequest(body, { model, version }, service.modelMetadata(model, version));
  return { ...decoded, signal: clientGoneSignal(reply.raw) };
}

export async function generateRoutes(app: FastifyInstance, { service }: RouteOptions): Promise<void> {
  const generate = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const decoded = decode(service, request, reply);
    const responses: InferResponse[] = [];
    let failure: InferenceError | undefined;
    await service.inferStream(decoded, (event) => {
      if (event && 'error' in event) failure ??= event.error;
      else if (event) responses.push(event.response);
    });
    if (failure) throw failure;
    if (responses.length !== 1) throw Errors.generateResponseCount();
    reply.header('content-type', 'application/json');
    return reply.send(encodeGenerateResponse(responses[0]));
  };

  const generateStream = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const decoded = decode(service, request, reply);
    let started = false;
    const raw = reply.raw;
    // The first response sets the status, as in Triton: an error as the first response gives the error's status.
    const start = (status: number) => {
      if (started) return;
      started = true;
      reply.hijack();
      raw.writeHead(status, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    };
    const send = (text: string, status = 200) => {
      start(status);
      if (!raw.destroyed) raw.write(`data: ${text}\n\n`);
    };
    try {
      await service.inferStream(decoded, (event) => {
        if (!event) return;
        if ('error' in event) send(errorBody(event.error.message), httpStatusOf(event.error.code));
        else send(encodeGenerateResponse(event.response));
      });
    } catch (error) {
      if (!started) throw error; // nothing sent yet: the usual JSON error and status
      send(errorBody(toInferenceError(error).message));
    }
    // A decoupled model may send no response at all: an empty event stream, as Triton.
    start(200);
    raw.end();
    return reply;
  };

  for (const path of modelPaths('/generate')) app.post<{ Params: ModelParams }>(path, generate);
  for (const path of modelPaths('/generate_stream')) app.post<{ Params: ModelParams }>(path, generateStream);
}
