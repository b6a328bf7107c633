/** The system_shared_memory extension over gRPC (raw grpc-js client on our proto) against the real server. */
import * as grpc from '@grpc/grpc-js';
import { rawClient, RawClient, startServer, StartedServer, unary, unaryError } from '../grpc/helpers';
import {
  createShmFile,
  DIFFERENCES,
  int32Bytes,
  int32sOf,
  ONES_16,
  RANGE_16,
  removeCreatedShmFiles,
  ShmFile,
  startPythonShmClient,
  SUMS,
} from './fixture';

let server: StartedServer;
let client: RawClient;

beforeAll(async () => {
  server = await startServer({ allowHttp: false, allowClientSharedMemory: true });
  client = rawClient(server.grpcPort);
});

afterAll(async () => {
  client?.close();
  await server?.app.stop();
  removeCreatedShmFiles();
});

afterEach(async () => {
  await unary(client, 'SystemSharedMemoryUnregister', {});
});

function shmParameters(region: string, byteSize: number, offset = 0) {
  return {
    shared_memory_region: { string_param: region },
    shared_memory_byte_size: { int64_param: byteSize },
    ...(offset !== 0 ? { shared_memory_offset: { int64_param: offset } } : {}),
  };
}

function shmInput(name: string, region: string, offset = 0, byteSize = 64) {
  return { name, datatype: 'INT32', shape: [1, 16], parameters: shmParameters(region, byteSize, offset) };
}

function simpleRegionFile(): ShmFile {
  const file = createShmFile(256);
  file.write(0, int32Bytes(RANGE_16));
  file.write(64, int32Bytes(ONES_16));
  return file;
}

const register = (name: string, key: string, offset: number, byteSize: number) =>
  unary(client, 'SystemSharedMemoryRegister', { name, key, offset, byte_size: byteSize });

describe('SystemSharedMemory RPCs', () => {
  it('register, status (all and named), unregister', async () => {
    const file = createShmFile(128);
    expect(await register('g1', file.key, 0, 64)).toEqual({});
    await register('g2', file.key, 64, 64);
    const { regions } = await unary(client, 'SystemSharedMemoryStatus', {});
    expect(regions).toEqual({
      g1: { name: 'g1', key: file.key, offset: '0', byte_size: '64' },
      g2: { name: 'g2', key: file.key, offset: '64', byte_size: '64' },
    });
    expect(Object.keys((await unary(client, 'SystemSharedMemoryStatus', { name: 'g2' })).regions)).toEqual(['g2']);
    expect(await unary(client, 'SystemSharedMemoryUnregister', { name: 'g1' })).toEqual({});
    expect(Object.keys((await unary(client, 'SystemSharedMemoryStatus', {})).regions)).toEqual(['g2']);
    expect(await unary(client, 'SystemSharedMemoryUnregister', { name: 'unknown' })).toEqual({});
  });

  it.each([
    ['an unknown region status', 'SystemSharedMemoryStatus', { name: 'zz' }, grpc.status.NOT_FOUND, "Unable to find system shared memory region: 'zz'"],
    ['a key that does not exist', 'SystemSharedMemoryRegister', { name: 'k', key: '/cdk8s_absent', offset: 0, byte_size: 4 }, grpc.status.INTERNAL, "Unable to open shared memory region: '/cdk8s_absent'"],
    ['a key with a separator', 'SystemSharedMemoryRegister', { name: 'k', key: '/x/../y', offset: 0, byte_size: 4 }, grpc.status.INTERNAL, "Unable to open shared memory region: '/x/../y'"],
    ['an all-slash key', 'SystemSharedMemoryRegister', { name: 'k', key: '///', offset: 0, byte_size: 4 }, grpc.status.INVALID_ARGUMENT, "cannot register shared memory region 'k' - invalid shm key '///'"],
    ['a reserved key', 'SystemSharedMemoryRegister', { name: 'k', key: '/triton_python_backend_shm_region_1', offset: 0, byte_size: 4 }, grpc.status.INVALID_ARGUMENT, "as the key contains the reserved prefix 'triton_python_backend_shm_region_'"],
  ])('%s', async (_label, method, request, code, message) => {
    const error = await unaryError(client, method, request);
    expect(error.code).toBe(code);
    expect(error.details).toContain(message);
  });

  it('a window larger than 2^53 is invalid args', async () => {
    const file = createShmFile(8);
    const error = await unaryError(client, 'SystemSharedMemoryRegister', { name: 'k', key: file.key, offset: 0, byte_size: '18446744073709551615' });
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe("failed to register shared memory region 'k': invalid args");
  });

  it('a name registered twice is ALREADY_EXISTS', async () => {
    const file = createShmFile(8);
    await register('twice', file.key, 0, 8);
    const error = await unaryError(client, 'SystemSharedMemoryRegister', { name: 'twice', key: file.key, offset: 0, byte_size: 8 });
    expect(error.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(error.details).toBe("shared memory region 'twice' already in manager");
  });
});

describe('ModelInfer with shared memory tensors', () => {
  it('cross-process: python maps the region, the server reads and writes it over gRPC', async () => {
    const python = await startPythonShmClient();
    try {
      await register('py', python.key, 0, 256);
      const response = await unary(client, 'ModelInfer', {
        model_name: 'simple',
        inputs: [shmInput('INPUT0', 'py'), shmInput('INPUT1', 'py', 64)],
        outputs: [
          { name: 'OUTPUT0', parameters: shmParameters('py', 64, 128) },
          { name: 'OUTPUT1', parameters: shmParameters('py', 64, 192) },
        ],
      });
      expect(response.outputs.map((o: { name: string }) => o.name)).toEqual(['OUTPUT0', 'OUTPUT1']);
      expect(await python.collect()).toEqual({ OUTPUT0: SUMS, OUTPUT1: DIFFERENCES });
    } finally {
      await python.close();
    }
  });

  it('mixed: INPUT0 in shared memory, INPUT1 raw; OUTPUT0 to shared memory, OUTPUT1 raw', async () => {
    const file = simpleRegionFile();
    await register('m', file.key, 0, 256);
    const response = await unary(client, 'ModelInfer', {
      model_name: 'simple',
      inputs: [shmInput('INPUT0', 'm'), { name: 'INPUT1', datatype: 'INT32', shape: [1, 16] }],
      raw_input_contents: [int32Bytes(ONES_16)], // one entry: only for the input that is not in shared memory
      outputs: [{ name: 'OUTPUT0', parameters: shmParameters('m', 64, 128) }, { name: 'OUTPUT1' }],
    });
    const [out0] = response.outputs;
    expect(out0).toMatchObject({ name: 'OUTPUT0', datatype: 'INT32', shape: ['1', '16'] });
    expect(out0.parameters.shared_memory_region).toMatchObject({ string_param: 'm' });
    expect(out0.parameters.shared_memory_byte_size).toMatchObject({ int64_param: '64' });
    expect(out0.parameters.shared_memory_offset).toMatchObject({ int64_param: '128' });
    // As Triton: an empty raw_output_contents entry keeps raw_output_contents[i] lined up with outputs[i].
    expect(response.raw_output_contents).toHaveLength(2);
    expect(response.raw_output_contents[0]).toHaveLength(0);
    expect(int32sOf(response.raw_output_contents[1])).toEqual(DIFFERENCES);
    expect(int32sOf(file.read(128, 64))).toEqual(SUMS);
  });

  it.each([
    ['an unknown region', [shmInput('INPUT0', 'nope'), shmInput('INPUT1', 'e', 64)], grpc.status.NOT_FOUND, "Unable to find shared memory region: 'nope'"],
    ['an offset past the region', [shmInput('INPUT0', 'e', 300), shmInput('INPUT1', 'e', 64)], grpc.status.INVALID_ARGUMENT, "Invalid offset for shared memory region: 'e'"],
    ['a byte size not matching', [shmInput('INPUT0', 'e', 0, 68), shmInput('INPUT1', 'e', 64)], grpc.status.INVALID_ARGUMENT, "input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 68"],
    [
      'a region of the wrong type',
      [{ ...shmInput('INPUT0', 'e'), parameters: { ...shmParameters('e', 64), shared_memory_region: { int64_param: 1 } } }, shmInput('INPUT1', 'e', 64)],
      grpc.status.INVALID_ARGUMENT,
      "invalid value type for 'shared_memory_region' parameter for tensor 'INPUT0', expected a string.",
    ],
  ])('%s', async (_label, inputs, code, message) => {
    const file = simpleRegionFile();
    await register('e', file.key, 0, 256);
    const error = await unaryError(client, 'ModelInfer', { model_name: 'simple', inputs });
    expect(error.code).toBe(code);
    expect(error.details).toBe(message);
  });

  it('an output too big for its window is INTERNAL with Triton’s message', async () => {
    const file = simpleRegionFile();
    await register('small', file.key, 0, 256);
    const error = await unaryError(client, 'ModelInfer', {
      model_name: 'simple',
      inputs: [shmInput('INPUT0', 'small'), shmInput('INPUT1', 'small', 64)],
      outputs: [{ name: 'OUTPUT1', parameters: shmParameters('small', 16, 128) }],
    });
    expect(error.code).toBe(grpc.status.INTERNAL);
    expect(error.details).toBe(
      "shared memory size specified with the request for output 'OUTPUT1' (16 bytes) should be at least 64 bytes to hold the results",
    );
  });
});

describe('CudaSharedMemory RPCs', () => {
  it('status is empty, register is UNIMPLEMENTED (Triton UNSUPPORTED), unregister succeeds', async () => {
    expect(await unary(client, 'CudaSharedMemoryStatus', {})).toEqual({ regions: {} });
    const error = await unaryError(client, 'CudaSharedMemoryRegister', { name: 'c', raw_handle: Buffer.alloc(64), device_id: 0, byte_size: 8 });
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(error.details).toContain('CUDA shared memory is not supported by this server');
    expect((await unaryError(client, 'CudaSharedMemoryStatus', { name: 'c' })).code).toBe(grpc.status.NOT_FOUND);
    expect(await unary(client, 'CudaSharedMemoryUnregister', { name: 'c' })).toEqual({});
  });

  it('ServerMetadata lists system_shared_memory only', async () => {
    const { extensions } = await unary(client, 'ServerMetadata', {});
    expect(extensions).toContain('system_shared_memory');
    expect(extensions).not.toContain('cuda_shared_memory');
  });
});
