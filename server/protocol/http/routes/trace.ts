/**
 * Triton's trace extension: GET /v2[/models/{m}]/trace/setting answers the settings in force, POST changes the named
 * ones (null clears a model's own value, so it follows the global one again) and answers the result.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Errors } from '../../../core/errors';
import { traceChangesFromJson } from '../../../core/trace-changes';
import { parseJsonObject } from '../codec';
import type { RouteOptions } from './options';

type TraceRequest = FastifyRequest<{ Params: { model?: string } }>;

export async function traceRoutes(app: FastifyInstance, { service }: RouteOptions): Promise<void> {
  for (const path of ['/v2/trace/setting', '/v2/models/:model/trace/setting']) {
    app.get(path, async (request: TraceRequest) => service.traceSettings(request.params.model));
    app.post(path, async (request: TraceRequest) => {
      if (!Buffer.isBuffer(request.body) || request.body.length === 0) throw Errors.badJson('The document is empty.');
      const changes = traceChangesFromJson(parseJsonObject(request.body.toString('utf8')));
      return service.updateTraceSettings(request.params.model, changes);
    });
  }
}
