/**
 * The system_shared_memory extension over HTTP against the real server: a python3 process maps the region and reads
 * back what the server wrote; TS-only cases write the /dev/shm file directly; every error answers as Triton does.
 */
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { httpRequest, int32s, MODEL_REPOSITORY, parseBinaryResponse, TestResponse } from '../http/helpers';
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

let server: InferenceServerApp;
let port: number;

beforeAll(async () => {
  server = createInferenceServer({ modelRepositories: [MODEL_REPOSITORY], httpPort: 0, host: '127.0.0.1', allowGrpc: false, allowClientSharedMemory: true });
  port = (await server.start()).httpPort!;
});

afterAll(async () => {
  await server?.stop();
  removeCreatedShmFiles();
});

afterEach(async () => {
  await post('/v2/systemsharedmemory/unregister');
});

function post(url: string, body?: unknown): Promise<TestResponse> {
  return httpRequest(port, {
    method: 'POST',
    url,
    ...(body !== undefined ? { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
}

function get(url: string): Promise<TestResponse> {
  return httpRequest(port, { method: 'GET', url });
}

async function register(name: string, key: string, offset: number, byteSize: number): Promise<void> {
  const response = await post(`/v2/systemsharedmemory/region/${name}/register`, { key, offset, byte_size: byteSize });
  expect(response.statusCode).toBe(200);
}

function shmParameters(region: string, byteSize: number, offset?: number) {
  return { shared_memory_region: region, shared_memory_byte_size: byteSize, ...(offset !== undefined ? { shared_memory_offset: offset } : {}) };
}

function shmInput(name: string, region: string, offset = 0, byteSize = 64) {
  return { name, datatype: 'INT32', shape: [1, 16], parameters: shmParameters(region, byteSize, offset) };
}

function expectError(response: TestResponse, status: number, message: string): void {
  expect(response.statusCode).toBe(status);
  expect(response.json()).toEqual({ error: message });
}

/** A region holding the simple inputs at 0 and 64, room for outputs at 128 and 192. */
function simpleRegionFile(): ShmFile {
  const file = createShmFile(256);
  file.write(0, int32Bytes(RANGE_16));
  file.write(64, int32Bytes(ONES_16));
  return file;
}

describe('cross-process: a python3 client maps the region', () => {
  it('the server reads the inputs python wrote and python reads the outputs through its mapping', async () => {
    const python = await startPythonShmClient();
    try {
      await register('py_inputs', python.key, 0, 128);
      await register('py_outputs', python.key, python.outputOffset, 128);
      const response = await post('/v2/models/simple/infer', {
        inputs: [shmInput('INPUT0', 'py_inputs', 0), shmInput('INPUT1', 'py_inputs', 64)],
        outputs: [
          { name: 'OUTPUT0', parameters: shmParameters('py_outputs', 64) },
          { name: 'OUTPUT1', parameters: shmParameters('py_outputs', 64, 64) },
        ],
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        model_name: 'simple',
        model_version: '2',
        outputs: [
          { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], parameters: shmParameters('py_outputs', 64) },
          { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], parameters: shmParameters('py_outputs', 64, 64) },
        ],
      });
      expect(await python.collect()).toEqual({ OUTPUT0: SUMS, OUTPUT1: DIFFERENCES });
    } finally {
      await python.close();
    }
  });
});

describe('status, register, unregister', () => {
  it('status lists the regions; a named status shows one; unknown names are NOT_FOUND', async () => {
    const file = createShmFile(128);
    await register('a', file.key, 0, 64);
    await register('b', file.key, 64, 64);
    const all = await get('/v2/systemsharedmemory/status');
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual([
      { name: 'a', key: file.key, offset: 0, byte_size: 64 },
      { name: 'b', key: file.key, offset: 64, byte_size: 64 },
    ]);
    expect((await get('/v2/systemsharedmemory/region/b/status')).json()).toEqual([{ name: 'b', key: file.key, offset: 64, byte_size: 64 }]);
    expectError(await get('/v2/systemsharedmemory/region/zz/status'), 404, "Unable to find system shared memory region: 'zz'");
  });

  it('unregister one, unregister all, unregister an unknown name (no error)', async () => {
    const file = createShmFile(64);
    await register('one', file.key, 0, 64);
    await register('two', file.key, 0, 64);
    expect((await post('/v2/systemsharedmemory/region/one/unregister')).statusCode).toBe(200);
    expect((await get('/v2/systemsharedmemory/status')).json()).toEqual([{ name: 'two', key: file.key, offset: 0, byte_size: 64 }]);
    expect((await post('/v2/systemsharedmemory/region/never/unregister')).statusCode).toBe(200);
    expect((await post('/v2/systemsharedmemory/unregister')).statusCode).toBe(200);
    expect((await get('/v2/systemsharedmemory/status')).json()).toEqual([]);
  });

  it('refuses a name registered twice, a missing key, a bad key, a window past the object, a bad body', async () => {
    const file = createShmFile(64);
    await register('dup', file.key, 0, 64);
    const url = (name: string) => `/v2/systemsharedmemory/region/${name}/register`;
    expectError(await post(url('dup'), { key: file.key, offset: 0, byte_size: 64 }), 400, "shared memory region 'dup' already in manager");
    expectError(await post(url('x'), { key: '/cdk8s_no_such_key', offset: 0, byte_size: 8 }), 500, "Unable to open shared memory region: '/cdk8s_no_such_key'");
    // shm_open refuses a name with a separator (EINVAL): Triton answers its INTERNAL "Unable to open".
    for (const key of ['/a/b', '../etc/passwd']) {
      expectError(await post(url('x'), { key, offset: 0, byte_size: 8 }), 500, `Unable to open shared memory region: '${key}'`);
    }
    for (const key of ['/', '///', '']) {
      expectError(await post(url('x'), { key, offset: 0, byte_size: 8 }), 400, `cannot register shared memory region 'x' - invalid shm key '${key}'`);
    }
    for (const key of ['triton_python_backend_shm_region__k', '///triton_python_backend_shm_region_k']) {
      expectError(
        await post(url('x'), { key, offset: 0, byte_size: 8 }),
        400,
        `cannot register shared memory region 'x' with key '${key}' as the key contains the reserved prefix 'triton_python_backend_shm_region_'`,
      );
    }
    expectError(
      await post(url('x'), { key: '/inference_server_python_backend-1-x', offset: 0, byte_size: 8 }),
      400,
      "cannot register shared memory region 'x' with key '/inference_server_python_backend-1-x' as the key contains the reserved prefix 'inference_server_python_backend'",
    );
    expectError(await post(url('x'), { key: file.key, offset: 32, byte_size: 64 }), 400, "failed to register shared memory region 'x': invalid args");
    expectError(await post(url('x'), { key: file.key, offset: 0 }), 400, "Unable to parse 'byte_size': expected a non-negative integer");
    expectError(await post(url('x'), { offset: 0, byte_size: 1 }), 400, "Unable to parse 'key': expected a string");
    expect((await post(url('x'))).statusCode).toBe(400);
    expect((await get('/v2/systemsharedmemory/status')).json()).toEqual([{ name: 'dup', key: file.key, offset: 0, byte_size: 64 }]);
  });

  it('server metadata claims system_shared_memory, not cuda_shared_memory', async () => {
    const { extensions } = (await get('/v2')).json() as { extensions: string[] };
    expect(extensions).toContain('system_shared_memory');
    expect(extensions).not.toContain('cuda_shared_memory');
  });
});

describe('inference with shared memory tensors (TS writes the /dev/shm file)', () => {
  it('inputs at offsets of a registered window; one output in shared memory, the other binary in the response', async () => {
    const file = createShmFile(512);
    file.write(100, int32Bytes(RANGE_16));
    file.write(164, int32Bytes(ONES_16));
    await register('win', file.key, 100, 300); // the window starts at byte 100 of the object
    const response = await post('/v2/models/simple/infer', {
      id: 'shm-1',
      inputs: [shmInput('INPUT0', 'win', 0), shmInput('INPUT1', 'win', 64)],
      outputs: [{ name: 'OUTPUT0', parameters: shmParameters('win', 64, 200) }, { name: 'OUTPUT1', parameters: { binary_data: true } }],
    });
    expect(response.statusCode).toBe(200);
    const parsed = parseBinaryResponse(response.rawPayload, Number(response.headers['inference-header-content-length']));
    expect(parsed.json.outputs[0]).toEqual({ name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], parameters: shmParameters('win', 64, 200) });
    expect([...parsed.raw.keys()]).toEqual(['OUTPUT1']);
    expect(int32s(parsed.raw.get('OUTPUT1')!)).toEqual(DIFFERENCES);
    expect(int32sOf(file.read(300, 64))).toEqual(SUMS);
  });

  it('one input from shared memory, the other inline JSON; outputs in the response as usual', async () => {
    const file = simpleRegionFile();
    await register('in', file.key, 0, 256);
    const response = await post('/v2/models/simple/infer', {
      inputs: [shmInput('INPUT0', 'in'), { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: ONES_16 }],
    });
    expect(response.statusCode).toBe(200);
    const body = response.json() as { outputs: { name: string; data: number[] }[] };
    expect(body.outputs.map((o) => o.data)).toEqual([SUMS, DIFFERENCES]);
  });

  it('a region unregistered while idle can no longer be used', async () => {
    const file = simpleRegionFile();
    await register('gone', file.key, 0, 256);
    expect((await post('/v2/systemsharedmemory/region/gone/unregister')).statusCode).toBe(200);
    const response = await post('/v2/models/simple/infer', { inputs: [shmInput('INPUT0', 'gone'), shmInput('INPUT1', 'gone', 64)] });
    expectError(response, 404, "Unable to find shared memory region: 'gone'");
  });

  describe('errors', () => {
    let file: ShmFile;
    beforeEach(async () => {
      file = simpleRegionFile();
      await register('r', file.key, 0, 256);
    });

    const infer = (inputs: unknown[], outputs?: unknown[]) => post('/v2/models/simple/infer', { inputs, ...(outputs ? { outputs } : {}) });
    const second = () => shmInput('INPUT1', 'r', 64);

    it('an unknown region', async () => {
      expectError(await infer([shmInput('INPUT0', 'nope'), second()]), 404, "Unable to find shared memory region: 'nope'");
    });

    it('an offset past the region', async () => {
      expectError(await infer([shmInput('INPUT0', 'r', 256), second()]), 400, "Invalid offset for shared memory region: 'r'");
    });

    it('offset + byte size past the region', async () => {
      expectError(await infer([shmInput('INPUT0', 'r', 224), second()]), 400, "Invalid offset + byte size for shared memory region: 'r'");
    });

    it('a byte size that does not match the tensor', async () => {
      expectError(await infer([shmInput('INPUT0', 'r', 0, 60), second()]), 400, "input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 60");
    });

    it('an output too big for its window', async () => {
      const response = await infer([shmInput('INPUT0', 'r'), second()], [{ name: 'OUTPUT0', parameters: shmParameters('r', 32, 128) }]);
      expectError(
        response,
        500,
        "shared memory size specified with the request for output 'OUTPUT0' (32 bytes) should be at least 64 bytes to hold the results",
      );
    });

    it('an output window outside the region', async () => {
      const response = await infer([shmInput('INPUT0', 'r'), second()], [{ name: 'OUTPUT0', parameters: shmParameters('r', 64, 250) }]);
      expectError(response, 400, "Invalid offset + byte size for shared memory region: 'r'");
    });

    it('data and a region on one input', async () => {
      const response = await infer([{ ...shmInput('INPUT0', 'r'), data: RANGE_16 }, second()]);
      expect(response.statusCode).toBe(400);
      expect((response.json() as { error: string }).error).toContain("Input 'INPUT0' must set only one of the following fields");
    });

    it('a region without its byte size, an offset without a region', async () => {
      const noSize = await infer([{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { shared_memory_region: 'r' } }, second()]);
      expectError(noSize, 400, "'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor 'INPUT0'");
      const noRegion = await infer([shmInput('INPUT0', 'r'), second()], [{ name: 'OUTPUT0', parameters: { shared_memory_offset: 0 } }]);
      expectError(noRegion, 400, "'shared_memory_offset' can not be specified without 'shared_memory_region' parameter for tensor 'OUTPUT0'");
    });

    it('shared memory and classification on one output', async () => {
      const response = await infer([shmInput('INPUT0', 'r'), second()], [{ name: 'OUTPUT0', parameters: { ...shmParameters('r', 64, 128), classification: 2 } }]);
      expectError(response, 400, "output can't set both 'shared_memory_region' and 'classification'");
    });

    it('uint64 offsets and sizes past 2^53 get Triton\'s offset and overflow errors (exact digits)', async () => {
      const inputs = JSON.stringify([shmInput('INPUT0', 'r'), second()]);
      const withOutput = (parameters: string) =>
        httpRequest(port, {
          method: 'POST',
          url: '/v2/models/simple/infer',
          payload: `{"inputs":${inputs},"outputs":[{"name":"OUTPUT0","parameters":${parameters}}]}`,
          headers: { 'content-type': 'application/json' },
        });
      // L0_shared_memory's test_infer_offset_out_of_bound: 2^64 - 32 as a uint64 offset.
      const offset = await withOutput('{"shared_memory_region":"r","shared_memory_byte_size":64,"shared_memory_offset":18446744073709551584}');
      expectError(offset, 400, "Invalid offset for shared memory region: 'r'");
      // test_infer_integer_overflow: offset 32, byte size 2^64 - 32.
      const overflow = await withOutput('{"shared_memory_region":"r","shared_memory_byte_size":18446744073709551584,"shared_memory_offset":32}');
      expectError(
        overflow,
        400,
        "Integer overflow detected: byte_size (18446744073709551584) + offset (32) exceeds maximum value (18446744073709551615) for region 'r'",
      );
      const large = await withOutput('{"shared_memory_region":"r","shared_memory_byte_size":9007199254740993,"shared_memory_offset":0}');
      expectError(large, 400, "Invalid offset + byte size for shared memory region: 'r'");
    });

    it('a failed request leaves the region usable', async () => {
      await infer([shmInput('INPUT0', 'r', 256), second()]);
      const response = await infer([shmInput('INPUT0', 'r'), second()]);
      expect(response.statusCode).toBe(200);
    });
  });
});

describe('cuda_shared_memory: answered, never claimed', () => {
  it('status is an empty list; register is UNSUPPORTED (501); a named status is NOT_FOUND; unregister succeeds', async () => {
    const status = await get('/v2/cudasharedmemory/status');
    expect(status.statusCode).toBe(200);
    expect(status.json()).toEqual([]);
    const registered = await post('/v2/cudasharedmemory/region/c/register', { raw_handle: { b64: 'AAAA' }, device_id: 0, byte_size: 8 });
    expect(registered.statusCode).toBe(501);
    expect((registered.json() as { error: string }).error).toContain('CUDA shared memory is not supported by this server');
    expectError(await get('/v2/cudasharedmemory/region/c/status'), 404, "Unable to find cuda shared memory region: 'c'");
    expect((await post('/v2/cudasharedmemory/region/c/unregister')).statusCode).toBe(200);
    expect((await post('/v2/cudasharedmemory/unregister')).statusCode).toBe(200);
  });
});
