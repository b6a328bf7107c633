/** Every KServe v2 / Triton HTTP endpoint, one plugin per area. */
import type { FastifyInstance } from 'fastify';
import { generateRoutes } from './routes/generate';
import { inferRoutes } from './routes/infer';
import { loggingRoutes } from './routes/logging';
import { modelRoutes } from './routes/models';
import type { RouteOptions } from './routes/options';
import { repositoryRoutes } from './routes/repository';
import { serverRoutes } from './routes/server';
import { sharedMemoryRoutes } from './routes/shared-memory';
import { traceRoutes } from './routes/trace';

export type { RouteOptions } from './routes/options';

export function registerRoutes(app: FastifyInstance, options: RouteOptions): void {
  void app.register(serverRoutes, options);
  void app.register(modelRoutes, options);
  void app.register(inferRoutes, options);
  void app.register(generateRoutes, options);
  void app.register(repositoryRoutes, options);
  void app.register(loggingRoutes, options);
  void app.register(sharedMemoryRoutes, options);
  void app.register(traceRoutes, options);
}
