/**
 * Business Logic Scripting: a Python model calling other models from execute (pb_utils.InferenceRequest.exec /
 * async_exec), through the server's normal path. The examples' bls_add_sub calls add_sub; bls_stream calls the
 * decoupled repeat model with exec(decoupled=True).
 */
import { errorOf, outputs, post, Started, startServer } from './helpers';
import { streamingRepository } from './streaming-helpers';

let server: Started;

beforeAll(async () => {
  server = await startServer({ modelRepositories: [streamingRepository()], loadModels: ['add_sub', 'bls_add_sub', 'repeat', 'bls_stream'] });
  expect(server.failedModels).toEqual([]);
}, 120_000);

afterAll(async () => {
  await server?.app.stop();
});

const blsRequest = (mode: string, input0 = [1, 2, 3, 4], input1 = [1, 1, 1, 1]) => ({
  inputs: [
    { name: 'INPUT0', datatype: 'FP32', shape: [4], data: input0 },
    { name: 'INPUT1', datatype: 'FP32', shape: [4], data: input1 },
    { name: 'MODE', datatype: 'BYTES', shape: [1], data: [mode] },
  ],
});

const stats = (name: string) =>
  server.app.service.modelStatistics(name)[0].inference_stats.success.count;

test('exec() runs the called model through its scheduler: outputs come back, its statistics count the call', async () => {
  const before = stats('add_sub');
  const response = await post(server.httpPort, '/v2/models/bls_add_sub/infer', blsRequest('sync'));
  expect(response.statusCode).toBe(200);
  expect(outputs(response).OUTPUT0.data).toEqual([2, 3, 4, 5]);
  expect(outputs(response).OUTPUT1.data).toEqual([0, 1, 2, 3]);
  expect(stats('add_sub')).toBe(before + 1);
});

test('async def execute with two async_exec calls in flight (asyncio.gather)', async () => {
  const before = stats('add_sub');
  const response = await post(server.httpPort, '/v2/models/bls_add_sub/infer', blsRequest('async', [5, 6, 7, 8], [1, 2, 3, 4]));
  expect(response.statusCode).toBe(200);
  expect(outputs(response).OUTPUT0.data).toEqual([6, 8, 10, 12]);
  expect(outputs(response).OUTPUT1.data).toEqual([4, 4, 4, 4]);
  expect(stats('add_sub')).toBe(before + 2);
});

test('many BLS requests at once, sync and async mixed, each gets its own answer', async () => {
  const requests = Array.from({ length: 12 }, (_, i) => post(server.httpPort, '/v2/models/bls_add_sub/infer', blsRequest(i % 2 ? 'async' : 'sync', [i, i, i, i], [1, 2, 3, 4])));
  const responses = await Promise.all(requests);
  responses.forEach((response, i) => {
    expect(response.statusCode).toBe(200);
    expect(outputs(response).OUTPUT0.data).toEqual([i + 1, i + 2, i + 3, i + 4]);
    expect(outputs(response).OUTPUT1.data).toEqual([i - 1, i - 2, i - 3, i - 4]);
  });
});

test('a call to an unknown model is an error response in the model (not an exception): the caller passes it on', async () => {
  const response = await post(server.httpPort, '/v2/models/bls_add_sub/infer', blsRequest('no_such_model'));
  expect(response.statusCode).toBe(500);
  expect(errorOf(response)).toBe("Request for unknown model: 'no_such_model' is not found");
});

test("the called model's own error (here: a decoupled model called without decoupled=True) comes back as Triton words it", async () => {
  const response = await post(server.httpPort, '/v2/models/bls_add_sub/infer', blsRequest('repeat'));
  expect(errorOf(response)).toBe(
    "Model repeat is using the decoupled. The current BLS request call doesn't support models using the decoupled transaction policy. Please use 'decoupled=True' argument to the 'exec' or 'async_exec' calls for decoupled models.",
  );
  // The server and the caller's stub are fine afterwards.
  expect((await post(server.httpPort, '/v2/models/bls_add_sub/infer', blsRequest('sync'))).statusCode).toBe(200);
});

test('exec(decoupled=True) and async_exec(decoupled=True) iterate over every response, the final empty one last', async () => {
  for (const mode of ['sync', 'async']) {
    const response = await post(server.httpPort, '/v2/models/bls_stream/infer', {
      inputs: [
        { name: 'IN', datatype: 'INT32', shape: [4], data: [3, -1, 5, 7] },
        { name: 'MODE', datatype: 'BYTES', shape: [1], data: [mode] },
      ],
    });
    expect(response.statusCode).toBe(200);
    const out = outputs(response);
    expect(out.SUM.data).toEqual([15]);
    expect(out.COUNT.data).toEqual([5]); // four responses (one an error) and the final flag alone
    expect(out.ERRORS.data).toEqual([1]);
  }
});
