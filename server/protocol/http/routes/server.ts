/** Server-level endpoints: metadata and the health probes (200 or 400, empty body, as Triton answers). */
import type { FastifyInstance } from 'fastify';
import type { RouteOptions } from './options';

const serverMetadataSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    extensions: { type: 'array', items: { type: 'string' } },
  },
  required: ['name', 'version', 'extensions'],
} as const;

export async function serverRoutes(app: FastifyInstance, { service }: RouteOptions): Promise<void> {
  app.get('/v2', { schema: { response: { 200: serverMetadataSchema } } }, async () => service.serverMetadata());

  app.get('/v2/health/live', async (_request, reply) => reply.code(service.isLive() ? 200 : 400).send());

  app.get('/v2/health/ready', async (_request, reply) => reply.code(service.isReady() ? 200 : 400).send());
}
