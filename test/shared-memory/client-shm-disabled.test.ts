/**
 * Triton's --allow-client-shm default (false) over both protocols, as qa/L0_shared_memory's
 * test_client_shm_disabled_by_default checks it: status answers (empty), register and unregister are refused with
 * Triton's text and change nothing; CUDA register/unregister are refused the same way.
 */
import * as grpc from '@grpc/grpc-js';
import { parseCli } from '../../server/cli';
import { rawClient, RawClient, startServer, StartedServer, unary, unaryError } from '../grpc/helpers';
import { httpRequest } from '../http/helpers';
import { createShmFile, removeCreatedShmFiles } from './fixture';

const DISABLED = "Client shared memory is disabled. Start the server with '--allow-client-shm=true' to enable.";

let server: StartedServer;
let client: RawClient;

beforeAll(async () => {
  server = await startServer({ loadModels: [] });
  client = rawClient(server.grpcPort);
});

afterAll(async () => {
  client?.close();
  await server?.app.stop();
  removeCreatedShmFiles();
});

const post = (url: string, payload?: string) => httpRequest(server.httpPort!, { method: 'POST', url, ...(payload ? { payload } : {}) });

it('is off unless --allow-client-shm=true', () => {
  expect(parseCli(['--model-repository=/m']).allowClientSharedMemory).toBe(false);
  expect(parseCli(['--model-repository=/m', '--allow-client-shm=true']).allowClientSharedMemory).toBe(true);
});

it('HTTP: register and unregister are 501 with Triton\'s text; status is empty and unchanged', async () => {
  const file = createShmFile(8);
  const before = await httpRequest(server.httpPort!, { method: 'GET', url: '/v2/systemsharedmemory/status' });
  expect([before.statusCode, before.json()]).toEqual([200, []]);
  for (const [url, payload] of [
    ['/v2/systemsharedmemory/region/dummy_data/register', JSON.stringify({ key: file.key, offset: 0, byte_size: 8 })],
    ['/v2/systemsharedmemory/region/dummy_data/register', '{not json'], // refused before the body is read
    ['/v2/systemsharedmemory/region/dummy_data/unregister', undefined],
    ['/v2/systemsharedmemory/unregister', undefined],
    ['/v2/cudasharedmemory/region/c/register', '{}'],
    ['/v2/cudasharedmemory/unregister', undefined],
  ] as const) {
    const response = await post(url, payload);
    expect([url, response.statusCode, response.json()]).toEqual([url, 501, { error: DISABLED }]);
  }
  expect((await httpRequest(server.httpPort!, { method: 'GET', url: '/v2/systemsharedmemory/status' })).json()).toEqual([]);
});

it('gRPC: register and unregister fail UNIMPLEMENTED with Triton\'s text; status is empty', async () => {
  const file = createShmFile(8);
  for (const [method, request] of [
    ['SystemSharedMemoryRegister', { name: 'dummy_data', key: file.key, offset: 0, byte_size: 8 }],
    ['SystemSharedMemoryUnregister', { name: 'dummy_data' }],
    ['SystemSharedMemoryUnregister', {}],
    ['CudaSharedMemoryRegister', { name: 'c', raw_handle: Buffer.alloc(0), device_id: 0, byte_size: 8 }],
    ['CudaSharedMemoryUnregister', {}],
  ] as const) {
    const error = await unaryError(client, method, request);
    expect([method, error.code, error.details]).toEqual([method, grpc.status.UNIMPLEMENTED, DISABLED]);
  }
  expect(await unary(client, 'SystemSharedMemoryStatus', {})).toEqual({ regions: {} });
});
