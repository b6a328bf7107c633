/**
 * Property tests on shared memory parameters: random region names, keys, offsets and sizes (register bodies and
 * infer tensors) never crash the server and always answer 200 or a Triton-shaped `{"error": string}`.
 */
import fc from 'fast-check';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { InferenceError } from '../../server/core/errors';
import { parseSharedMemoryParameters } from '../../server/core/shared-memory-tensors';
import { httpRequest, MODEL_REPOSITORY, TestResponse } from '../http/helpers';
import { createShmFile, removeCreatedShmFiles, ShmFile } from './fixture';

const NUM_RUNS = 100;

let server: InferenceServerApp;
let port: number;
let file: ShmFile;

beforeAll(async () => {
  server = createInferenceServer({ modelRepositories: [MODEL_REPOSITORY], httpPort: 0, host: '127.0.0.1', allowGrpc: false, allowClientSharedMemory: true });
  port = (await server.start()).httpPort!;
  file = createShmFile(256);
  const response = await post('/v2/systemsharedmemory/region/fixed/register', { key: file.key, offset: 0, byte_size: 256 });
  expect(response.statusCode).toBe(200);
});

afterAll(async () => {
  await server?.stop();
  removeCreatedShmFiles();
});

function post(url: string, body: unknown): Promise<TestResponse> {
  return httpRequest(port, { method: 'POST', url, payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
}

/** Success, or the error contract; a 500 only for the two INTERNAL errors Triton itself answers here. */
function expectTritonShaped(response: TestResponse): void {
  if (response.statusCode === 200) return;
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  expect([400, 404, 500]).toContain(response.statusCode);
  if (response.statusCode === 500) {
    expect(body.error).toMatch(/^(Unable to open shared memory region|shared memory size specified with the request)/);
  }
}

const sizeLike = fc.oneof(
  fc.nat({ max: 300 }),
  fc.integer({ min: -5, max: -1 }),
  fc.constantFrom(2 ** 53, 2 ** 64, 1.5, Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 4 }),
  fc.constant(null),
);
const regionName = fc.oneof(fc.constantFrom('fixed', 'fixed ', 'FIXED', ''), fc.string({ maxLength: 8 }));

it('random register bodies and names', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.string({ minLength: 1, maxLength: 10 }),
      fc.oneof(fc.constant(file.key), fc.string({ maxLength: 12 }), fc.constantFrom('/', '/..', '/a/b', '\u0000', `${file.key}/x`)),
      sizeLike,
      sizeLike,
      async (name, key, offset, byteSize) => {
        const response = await post(`/v2/systemsharedmemory/region/${encodeURIComponent(name)}/register`, { key, offset, byte_size: byteSize });
        expectTritonShaped(response);
        if (response.statusCode === 200) {
          expect((await post(`/v2/systemsharedmemory/region/${encodeURIComponent(name)}/unregister`, {})).statusCode).toBe(200);
        }
      },
    ),
    { numRuns: NUM_RUNS },
  );
});

it('random shared memory parameters on inputs and outputs', async () => {
  const parameters = fc.record(
    { shared_memory_region: fc.oneof(regionName, fc.integer()), shared_memory_offset: sizeLike, shared_memory_byte_size: sizeLike },
    { requiredKeys: [] },
  );
  await fc.assert(
    fc.asyncProperty(parameters, parameters, parameters, async (input0, input1, output) => {
      const tensor = (name: string, p: unknown) => ({ name, datatype: 'INT32', shape: [1, 16], parameters: p });
      const response = await post('/v2/models/simple/infer', {
        inputs: [tensor('INPUT0', input0), tensor('INPUT1', input1)],
        outputs: [{ name: 'OUTPUT0', parameters: output }],
      });
      expectTritonShaped(response);
    }),
    { numRuns: NUM_RUNS },
  );
  // Still serving, the region still registered.
  const status = await httpRequest(port, { method: 'GET', url: '/v2/systemsharedmemory/status' });
  expect(status.json()).toEqual([{ name: 'fixed', key: file.key, offset: 0, byte_size: 256 }]);
});

it('parseSharedMemoryParameters throws nothing but InferenceErrors', () => {
  const value = fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.double(), fc.boolean());
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom('shared_memory_region', 'shared_memory_offset', 'shared_memory_byte_size', 'x'), value), (p) => {
      try {
        const parsed = parseSharedMemoryParameters('T', p);
        if (parsed.sharedMemory) {
          // uint64 as Triton's: a number up to 2^53 - 1, a bigint past it (a double of 2^53 or more included).
          const isUint64 = (v: number | bigint) => (typeof v === 'bigint' ? v > BigInt(Number.MAX_SAFE_INTEGER) : Number.isSafeInteger(v) && v >= 0);
          expect(isUint64(parsed.sharedMemory.offset)).toBe(true);
          expect(isUint64(parsed.sharedMemory.byteSize)).toBe(true);
        }
      } catch (error) {
        expect(error).toBeInstanceOf(InferenceError);
      }
    }),
    { numRuns: 300 },
  );
});

it('parseSharedMemoryParameters keeps a byte size of 2^53 or more exact, as a bigint (Triton reads uint64)', () => {
  const parsed = parseSharedMemoryParameters('T', { shared_memory_region: 'r', shared_memory_byte_size: 2 ** 53 });
  expect(parsed.sharedMemory?.byteSize).toBe(9007199254740992n);
});
