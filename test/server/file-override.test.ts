/**
 * Triton's load with `file:<path>` parameters (model files sent in the load request), over HTTP (base64 text) and gRPC
 * (bytes): the model serves from the files sent, a later load without files reads the repository again, and a bad
 * load (no config, a path outside the model folder, a name the filesystem refuses) fails with Triton's INTERNAL
 * "failed to poll from model repository" while the server serves on. The temporary folders go with the model.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { unary, unaryError } from '../grpc/helpers';
import { httpRequest } from '../http/helpers';
import { copyRepository, EXAMPLES, simpleConfigJson, simpleRequest, sum } from './repo-fixture';
import { serverForSuite } from './suite-server';

const MODEL_FILE = fs.readFileSync(path.join(EXAMPLES, 'simple', '1', 'model.onnx'));
const overrideFolders = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('inference-server-override-'));

const server = serverForSuite({
  modelRepositories: [copyRepository(['simple'])],
  loadModels: ['simple'],
  allowMetrics: false,
  logger: pino({ level: 'silent' }),
});

const load = (model: string, parameters: Record<string, unknown>) =>
  httpRequest(server.httpPort, { method: 'POST', url: `/v2/repository/models/${model}/load`, payload: JSON.stringify({ parameters }) });

test('HTTP: a model loaded from the files sent serves them; unloading removes its folder', async () => {
  const before = overrideFolders().length;
  const response = await load('uploaded', { config: simpleConfigJson({ name: 'uploaded' }), 'file:1/model.onnx': MODEL_FILE.toString('base64') });
  expect(response.statusCode).toBe(200);
  expect(server.app.service.modelMetadata('uploaded').versions).toEqual(['1']);
  const result = await server.app.service.infer(simpleRequest('uploaded'));
  expect(Array.from(result.outputs[0].data as Int32Array)).toEqual(sum());
  expect(overrideFolders().length).toBe(before + 1);
  await server.app.service.unloadModel('uploaded');
  expect(overrideFolders().length).toBe(before);
});

test('a repository model replaced by files, then loaded again without them, serves the repository again', async () => {
  expect(server.app.service.modelMetadata('simple').versions).toEqual(['2']);
  expect((await load('simple', { config: simpleConfigJson(), 'file:1/model.onnx': MODEL_FILE.toString('base64') })).statusCode).toBe(200);
  expect(server.app.service.modelMetadata('simple').versions).toEqual(['1']);
  expect((await load('simple', {})).statusCode).toBe(200);
  expect(server.app.service.modelMetadata('simple').versions).toEqual(['2']);
});

test.each([
  ['no config parameter', { 'file:1/model.onnx': 'YQ==' }],
  ['a name longer than the filesystem allows', { config: '{}', [`file:${'A'.repeat(256)}`]: 'YQ==' }],
  ['a path out of the model folder', { config: '{}', 'file:../1/model.onnx': 'YQ==' }],
  ['an absolute path', { config: '{}', [`file:${path.join(os.tmpdir(), 'absolute-override')}`]: 'YQ==' }],
])('HTTP: %s → 500 "failed to poll from model repository", nothing left behind, the server serves on', async (_, parameters) => {
  const before = overrideFolders().length;
  const response = await load('refused', parameters);
  expect(response.statusCode).toBe(500);
  expect((response.json() as { error: string }).error).toMatch(/^failed to load 'refused', failed to poll from model repository: /);
  expect(overrideFolders().length).toBe(before);
  expect(fs.existsSync(path.join(os.tmpdir(), 'absolute-override'))).toBe(false);
  expect((await server.app.service.repositoryIndex()).map((entry) => entry.name)).not.toContain('refused');
  expect(server.app.service.isReady()).toBe(true);
});

test('HTTP: a file parameter that is not a string is refused as a bad field', async () => {
  const response = await load('refused', { config: '{}', 'file:1/model.onnx': 7 });
  expect(response.statusCode).toBe(400);
});

test('gRPC: files as bytes_param; an oversized name answers INTERNAL', async () => {
  await unary(server.client, 'RepositoryModelLoad', {
    model_name: 'uploaded_grpc',
    parameters: {
      config: { string_param: simpleConfigJson({ name: 'uploaded_grpc' }) },
      'file:1/model.onnx': { bytes_param: MODEL_FILE },
    },
  });
  expect(server.app.service.isModelReady('uploaded_grpc')).toBe(true);
  const error = await unaryError(server.client, 'RepositoryModelLoad', {
    model_name: 'refused',
    parameters: { config: { string_param: '{}' }, [`file:${'A'.repeat(256)}`]: { bytes_param: Buffer.from('a') } },
  });
  expect(error.code).toBe(13); // INTERNAL, as Triton (its simple_grpc_model_control example checks it)
  expect(error.details).toMatch(/failed to poll from model repository/);
});
