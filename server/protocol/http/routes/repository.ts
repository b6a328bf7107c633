/** Triton's model repository extension: index, load, unload. Bodies are optional JSON objects. */
import type { FastifyInstance } from 'fastify';
import { Errors } from '../../../core/errors';
import { LOAD_FILE_PARAMETER_PREFIX, type LoadOptions, type UnloadOptions } from '../../../core/types';
import { parseJsonObject } from '../codec';
import type { RouteOptions } from './options';

interface RepositoryModelParams {
  readonly model: string;
}

/** An optional JSON object body: absent or empty → undefined. */
function optionalJsonBody(body: unknown): Record<string, unknown> | undefined {
  if (!Buffer.isBuffer(body) || body.length === 0) return undefined;
  return parseJsonObject(body.toString('utf8'));
}

function parametersOf(body: Record<string, unknown> | undefined): Record<string, unknown> {
  const parameters = body?.parameters;
  if (parameters === undefined) return {};
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) {
    throw Errors.badField('parameters', 'expected a JSON object');
  }
  return parameters as Record<string, unknown>;
}

function loadOptionsOf(body: Record<string, unknown> | undefined): LoadOptions {
  let config: string | undefined;
  const files = new Map<string, Uint8Array>();
  for (const [name, value] of Object.entries(parametersOf(body))) {
    if (name.startsWith(LOAD_FILE_PARAMETER_PREFIX)) {
      // Over HTTP a file's contents are base64 text (Triton's HTTP client encodes them so).
      if (typeof value !== 'string') throw Errors.badField(name, 'expected a base64 string holding the file contents');
      files.set(name.slice(LOAD_FILE_PARAMETER_PREFIX.length), Buffer.from(value, 'base64'));
      continue;
    }
    if (name !== 'config') throw Errors.badLoadParameter(name);
    if (typeof value !== 'string') throw Errors.badField('config', 'expected a string holding the model configuration JSON');
    config = value;
  }
  return { ...(config !== undefined ? { config } : {}), ...(files.size > 0 ? { files } : {}) };
}

function unloadOptionsOf(body: Record<string, unknown> | undefined): UnloadOptions {
  const unloadDependents = parametersOf(body).unload_dependents;
  if (unloadDependents === undefined) return {};
  if (typeof unloadDependents !== 'boolean') throw Errors.badField('unload_dependents', 'expected a boolean');
  return { unloadDependents };
}

export async function repositoryRoutes(app: FastifyInstance, { service }: RouteOptions): Promise<void> {
  app.post('/v2/repository/index', async (request) => {
    const ready = optionalJsonBody(request.body)?.ready;
    if (ready !== undefined && typeof ready !== 'boolean') throw Errors.invalidValue('ready', 'a boolean');
    return service.repositoryIndex(ready ?? false);
  });

  app.post<{ Params: RepositoryModelParams }>('/v2/repository/models/:model/load', async (request, reply) => {
    await service.loadModel(request.params.model, loadOptionsOf(optionalJsonBody(request.body)));
    return reply.code(200).send();
  });

  app.post<{ Params: RepositoryModelParams }>('/v2/repository/models/:model/unload', async (request, reply) => {
    await service.unloadModel(request.params.model, unloadOptionsOf(optionalJsonBody(request.body)));
    return reply.code(200).send();
  });
}
