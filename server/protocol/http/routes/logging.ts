/** Triton's logging extension: GET /v2/logging answers the settings, POST changes those it names (null: unchanged). */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../../../core/errors';
import { parseJsonObject } from '../codec';
import type { RouteOptions } from './options';

export async function loggingRoutes(app: FastifyInstance, { service }: RouteOptions): Promise<void> {
  app.get('/v2/logging', async () => service.logSettings());

  app.post('/v2/logging', async (request) => {
    if (!Buffer.isBuffer(request.body) || request.body.length === 0) throw Errors.badJson('The document is empty.');
    const changes = Object.fromEntries(Object.entries(parseJsonObject(request.body.toString('utf8'))).filter(([, value]) => value !== null));
    return service.updateLogSettings(changes);
  });
}
