/**
 * Triton's shared memory extensions over HTTP: system shared memory status / register / unregister, and the CUDA
 * routes, answered honestly (no region is ever registered; register is UNSUPPORTED).
 */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../../../core/errors';
import { parseJsonObject } from '../codec';
import type { RouteOptions } from './options';

interface RegionParams {
  readonly name?: string;
}

interface RegisterBody {
  readonly key: string;
  readonly offset: number;
  readonly byteSize: number;
}

const isSize = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** `{"key": "/shm_key", "offset": 0, "byte_size": 64}` (offset may be left out: 0). */
function registerBodyOf(body: unknown): RegisterBody {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : '';
  const json = parseJsonObject(text);
  const { key, offset = 0, byte_size: byteSize } = json;
  if (typeof key !== 'string') throw Errors.badField('key', 'expected a string');
  if (!isSize(offset)) throw Errors.badField('offset', 'expected a non-negative integer');
  if (!isSize(byteSize)) throw Errors.badField('byte_size', 'expected a non-negative integer');
  return { key, offset, byteSize };
}

export async function sharedMemoryRoutes(app: FastifyInstance, { service }: RouteOptions): Promise<void> {
  for (const path of ['/v2/systemsharedmemory/status', '/v2/systemsharedmemory/region/:name/status']) {
    app.get<{ Params: RegionParams }>(path, async (request) => service.systemSharedMemoryStatus(request.params.name));
  }
  app.post<{ Params: Required<RegionParams> }>('/v2/systemsharedmemory/region/:name/register', async (request, reply) => {
    service.checkClientSharedMemoryAllowed(); // before the body, as Triton
    const { key, offset, byteSize } = registerBodyOf(request.body);
    service.registerSystemSharedMemory(request.params.name, key, offset, byteSize);
    return reply.code(200).send();
  });
  for (const path of ['/v2/systemsharedmemory/unregister', '/v2/systemsharedmemory/region/:name/unregister']) {
    app.post<{ Params: RegionParams }>(path, async (request, reply) => {
      service.unregisterSystemSharedMemory(request.params.name);
      return reply.code(200).send();
    });
  }

  for (const path of ['/v2/cudasharedmemory/status', '/v2/cudasharedmemory/region/:name/status']) {
    app.get<{ Params: RegionParams }>(path, async (request) => service.cudaSharedMemoryStatus(request.params.name));
  }
  app.post<{ Params: Required<RegionParams> }>('/v2/cudasharedmemory/region/:name/register', async (request) =>
    service.registerCudaSharedMemory(request.params.name),
  );
  for (const path of ['/v2/cudasharedmemory/unregister', '/v2/cudasharedmemory/region/:name/unregister']) {
    app.post<{ Params: RegionParams }>(path, async (request, reply) => {
      service.unregisterCudaSharedMemory(request.params.name);
      return reply.code(200).send();
    });
  }
}
