/** Per-model endpoints: metadata, readiness, configuration and statistics. */
import type { FastifyInstance } from 'fastify';
import { JSON_CONTENT_TYPE } from '../codec';
import { ModelParams, modelPaths, RouteOptions } from './options';

const tensorMetadataSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    datatype: { type: 'string' },
    shape: { type: 'array', items: { type: 'integer' } },
  },
  required: ['name', 'datatype', 'shape'],
} as const;

const modelMetadataSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    versions: { type: 'array', items: { type: 'string' } },
    platform: { type: 'string' },
    inputs: { type: 'array', items: tensorMetadataSchema },
    outputs: { type: 'array', items: tensorMetadataSchema },
  },
  required: ['name', 'platform', 'inputs', 'outputs'],
} as const;

export async function modelRoutes(app: FastifyInstance, { service }: RouteOptions): Promise<void> {
  // Registered before `/v2/models/:model`; the router prefers the static path, as Triton's URL patterns do.
  app.get('/v2/models/stats', async () => ({ model_stats: service.modelStatistics() }));

  for (const path of modelPaths('')) {
    app.get<{ Params: ModelParams }>(path, { schema: { response: { 200: modelMetadataSchema } } }, async (request) =>
      service.modelMetadata(request.params.model, request.params.version),
    );
  }

  for (const path of modelPaths('/ready')) {
    app.get<{ Params: ModelParams }>(path, async (request, reply) =>
      reply.code(service.isModelReady(request.params.model, request.params.version) ? 200 : 400).send(),
    );
  }

  for (const path of modelPaths('/config')) {
    app.get<{ Params: ModelParams }>(path, async (request, reply) =>
      reply
        .type(JSON_CONTENT_TYPE)
        .send(JSON.stringify(service.modelConfig(request.params.model, request.params.version))),
    );
  }

  for (const path of modelPaths('/stats')) {
    app.get<{ Params: ModelParams }>(path, async (request) => ({
      model_stats: service.modelStatistics(request.params.model, request.params.version),
    }));
  }
}
