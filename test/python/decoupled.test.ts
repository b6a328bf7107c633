/**
 * Decoupled Python models (model_transaction_policy { decoupled: true }): responses through the response sender,
 * streamed over gRPC ModelStreamInfer and HTTP generate_stream; refused by HTTP infer and gRPC ModelInfer; failures
 * mid-stream; unload while a stream is open.
 */
import * as fc from 'fast-check';
import { int32Raw, rawClient, unaryError } from '../grpc/helpers';
import { errorOf, post, Started, startServer, stubPids, waitFor } from './helpers';
import { int32sFrom, repeatRequest, sseEvents, streamInfer, streamingRepository } from './streaming-helpers';

let server: Started;

beforeAll(async () => {
  server = await startServer({ modelRepositories: [streamingRepository()], loadModels: ['add_sub', 'repeat', 'stream_probe'] });
  expect(server.failedModels).toEqual([]);
}, 120_000);

afterAll(async () => {
  await server?.app.stop();
});

const probe = (id: string, mode: string) => ({
  model_name: 'stream_probe',
  id,
  inputs: [{ name: 'MODE', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from(mode)] } }],
});

describe('gRPC ModelStreamInfer', () => {
  test('one message per response as the model sends them; an error response fails only itself', async () => {
    const messages = await streamInfer(server.grpcPort!, [repeatRequest('r', [4, -2, 6])]);
    expect(messages).toHaveLength(3);
    expect(int32sFrom(messages[0].infer_response.raw_output_contents[0])).toEqual([4]);
    expect(messages[0].infer_response.id).toBe('r');
    expect(messages[0].infer_response.model_version).toBe('1');
    expect(messages[1].error_message).toBe('negative value at 1');
    expect(int32sFrom(messages[2].infer_response.raw_output_contents[0])).toEqual([6]);
    expect(int32sFrom(messages[2].infer_response.raw_output_contents[1])).toEqual([2]);
    // As Triton: every response, errors included, says whether it is the request's last.
    const finals = messages.map((m) => m.infer_response.parameters?.triton_final_response?.bool_param);
    expect(finals).toEqual([false, false, false]);
  });

  test('shared memory outputs on a decoupled model are refused, not silently answered inline', async () => {
    const outputs = [
      {
        name: 'OUT',
        parameters: {
          shared_memory_region: { string_param: 'some_region' },
          shared_memory_byte_size: { int64_param: 4 },
        },
      },
    ];
    const messages = await streamInfer(server.grpcPort!, [repeatRequest('s', [1, 2], { outputs })]);
    expect(messages).toHaveLength(1);
    expect(messages[0].error_message).toBe("shared memory outputs are not supported for the responses of decoupled model 'repeat'");
    expect(messages[0].infer_response.parameters?.triton_final_response?.bool_param).toBe(true);
  });

  test('triton_enable_empty_final_response: every response flagged, and the final flag alone as an empty response', async () => {
    const messages = await streamInfer(server.grpcPort!, [
      repeatRequest('f', [7, 8], { parameters: { triton_enable_empty_final_response: { bool_param: true } } }),
    ]);
    expect(messages.map((m) => m.infer_response.parameters.triton_final_response.bool_param)).toEqual([false, false, true]);
    expect(messages[2].infer_response.outputs).toEqual([]);
    expect(messages[2].infer_response.id).toBe('f');
    expect(messages[2].infer_response.model_version).toBe('1');
  });

  test('decoupled and normal models side by side on one stream', async () => {
    const messages = await streamInfer(server.grpcPort!, [
      repeatRequest('a', [1, 2]),
      {
        model_name: 'add_sub',
        id: 'b',
        inputs: [
          { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
          { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 1, 1, 1] } },
        ],
      },
    ]);
    expect(messages.filter((m) => m.infer_response.id === 'a')).toHaveLength(2);
    expect(messages.filter((m) => m.infer_response.id === 'b')).toHaveLength(1);
    expect(messages.every((m) => m.error_message === '')).toBe(true);
  });

  test('request parameters reach a decoupled model (request.parameters()), as for any other model', async () => {
    const request = { ...probe('p', 'parameters'), parameters: { count: { int64_param: 3 } } };
    const messages = await streamInfer(server.grpcPort!, [request]);
    expect(messages.map((m) => m.error_message)).toEqual(['', '', '']);
    expect(messages.map((m) => int32sFrom(m.infer_response.raw_output_contents[0]))).toEqual([[7], [7], [7]]);
  });

  test('ModelInfer (unary) refuses a decoupled model in Triton words', async () => {
    const client = rawClient(server.grpcPort!);
    const error = await unaryError(client, 'ModelInfer', {
      model_name: 'repeat',
      inputs: [{ name: 'IN', datatype: 'INT32', shape: [1] }],
      raw_input_contents: [int32Raw([1])],
    });
    client.close();
    expect(error.details).toBe("ModelInfer RPC doesn't support models with decoupled transaction policy");
  });

  test('a model that raises after its first response: the response, then the error, and the stub serves on', async () => {
    const messages = await streamInfer(server.grpcPort!, [probe('x', 'raise')]);
    expect(messages).toHaveLength(2);
    expect(int32sFrom(messages[0].infer_response.raw_output_contents[0])).toEqual([1]);
    expect(messages[1].error_message).toMatch(/^Failed to process the request\(s\) for model instance 'stream_probe_0_0', message: ValueError: failed after the first response/);
    const next = await streamInfer(server.grpcPort!, [probe('y', 'ok')]);
    expect(next.map((m) => int32sFrom(m.infer_response.raw_output_contents[0])[0])).toEqual([1, 2]);
  });

  test('sending after the final flag is refused inside the model; the stream still ends normally', async () => {
    const messages = await streamInfer(server.grpcPort!, [probe('t', 'twice_final')]);
    expect(messages.map((m) => m.error_message)).toEqual(['', '']);
    // The model prints the TritonModelException it caught.
    await waitFor(() => server.stubOutput.join('').includes('second final refused: '));
    expect(server.stubOutput.join('')).toContain('second final refused: Unable to send response. Response sender has been closed.');
  });

  test('a model that raises after its final flag: the stream ends normally, the error is only logged (as Triton)', async () => {
    const messages = await streamInfer(server.grpcPort!, [probe('f', 'raise_after_final')]);
    expect(messages.map((m) => m.error_message)).toEqual(['']);
    const logged = "E python: Failed to process the request(s) for model instance 'stream_probe_0_0', message: ValueError: raised after the final flag";
    await waitFor(() => server.stubOutput.join('').includes(logged));
    const next = await streamInfer(server.grpcPort!, [probe('g', 'ok')]);
    expect(next.map((m) => int32sFrom(m.infer_response.raw_output_contents[0])[0])).toEqual([1, 2]);
  });

  test('a decoupled execute that returns responses instead of None fails the request in Triton words', async () => {
    const messages = await streamInfer(server.grpcPort!, [probe('l', 'return_list')]);
    expect(messages.map((m) => m.error_message)).toEqual([
      "Failed to process the request(s) for model instance 'stream_probe_0_0', message: Python model 'stream_probe_0_0' is using the decoupled mode and the execute function must return None.",
    ]);
  });

  test('a stub that dies mid-stream ends that stream with an error; the server lives and the stub is restarted', async () => {
    const before = stubPids();
    const messages = await streamInfer(server.grpcPort!, [probe('c', 'crash')]);
    expect(messages).toHaveLength(2);
    expect(int32sFrom(messages[0].infer_response.raw_output_contents[0])).toEqual([1]);
    expect(messages[1].error_message).toMatch(/Stub process 'stream_probe_0_0' is not healthy: the process exited with code 7/);
    const again = await streamInfer(server.grpcPort!, [probe('d', 'ok')]);
    expect(again.map((m) => m.error_message)).toEqual(['', '']);
    expect(stubPids()).not.toEqual(before);
  });
});

describe('HTTP', () => {
  test('infer on a decoupled model is refused in Triton words', async () => {
    const response = await post(server.httpPort, '/v2/models/repeat/infer', { inputs: [{ name: 'IN', datatype: 'INT32', shape: [1], data: [1] }] });
    expect(response.statusCode).toBe(501);
    expect(errorOf(response)).toBe("HTTP end point doesn't support models with decoupled transaction policy");
  });

  test('generate_stream: one SSE data event per response, errors as {"error"} events', async () => {
    const response = await post(server.httpPort, '/v2/models/repeat/generate_stream', { IN: [5, -1, 9], id: 'g' });
    expect(response.statusCode).toBe(200);
    expect(sseEvents(response)).toEqual([
      { model_name: 'repeat', model_version: '1', id: 'g', OUT: 5, IDX: 0 },
      { error: 'negative value at 1' },
      { model_name: 'repeat', model_version: '1', id: 'g', OUT: 9, IDX: 2 },
    ]);
  });

  test('generate_stream: top-level and nested `parameters` fields reach a decoupled model; an empty output is []', async () => {
    const topLevel = await post(server.httpPort, '/v2/models/stream_probe/generate_stream', { MODE: 'parameters', count: 2 });
    expect(sseEvents(topLevel)).toEqual([
      { model_name: 'stream_probe', model_version: '1', OUT: 7 },
      { model_name: 'stream_probe', model_version: '1', OUT: 7 },
    ]);
    const nested = await post(server.httpPort, '/v2/models/stream_probe/generate_stream', { MODE: 'parameters', parameters: { count: 3 } });
    expect(sseEvents(nested)).toHaveLength(3);
    const empty = await post(server.httpPort, '/v2/models/stream_probe/generate', { MODE: 'parameters', empty: true });
    expect(empty.statusCode).toBe(200);
    expect(empty.json()).toEqual({ model_name: 'stream_probe', model_version: '1', OUT: [] });
  });

  test('generate on a normal model: JSON fields mapped to inputs by name (batch dimension added), outputs flat', async () => {
    const response = await post(server.httpPort, '/v2/models/add_sub/generate', { INPUT0: [1, 2, 3, 4], INPUT1: [4, 3, 2, 1] });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({ model_name: 'add_sub', model_version: '1', OUTPUT0: [5, 5, 5, 5], OUTPUT1: [-3, -1, 1, 3] });
    const streamed = await post(server.httpPort, '/v2/models/add_sub/generate_stream', { INPUT0: [1, 1, 1, 1], INPUT1: [1, 1, 1, 1] });
    expect(sseEvents(streamed)).toEqual([{ model_name: 'add_sub', model_version: '1', OUTPUT0: [2, 2, 2, 2], OUTPUT1: [0, 0, 0, 0] }]);
  });

  test('generate on a decoupled model with one response; more than one asks for generate_stream', async () => {
    const one = await post(server.httpPort, '/v2/models/repeat/generate', { IN: 3 });
    expect(one.json()).toEqual({ model_name: 'repeat', model_version: '1', OUT: 3, IDX: 0 });
    const many = await post(server.httpPort, '/v2/models/repeat/generate', { IN: [1, 2] });
    expect(many.statusCode).toBe(400);
    expect(errorOf(many)).toMatch(/exactly 1 response, use generate stream/);
  });

  test('a request that fails before its first response gets a plain JSON error with its status', async () => {
    const unknown = await post(server.httpPort, '/v2/models/nope/generate_stream', { IN: [1] });
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown)).toBe("Request for unknown model: 'nope' is not found");
    const badType = await post(server.httpPort, '/v2/models/repeat/generate_stream', { IN: ['x'] });
    expect(badType.statusCode).toBe(400);
    const missing = await post(server.httpPort, '/v2/models/add_sub/generate', { INPUT0: [1, 2, 3, 4] });
    expect(missing.statusCode).toBe(400);
  });

  test('fuzz: any JSON body to generate gets a 200 or a Triton-shaped error, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom('IN', 'DELAY', 'id', 'parameters', 'x'), fc.jsonValue())), async (body) => {
        const response = await post(server.httpPort, '/v2/models/repeat/generate', body);
        if (response.statusCode !== 200) expect(typeof errorOf(response)).toBe('string');
        expect([200, 400, 404, 413]).toContain(response.statusCode);
      }),
      { numRuns: 60 },
    );
    expect((await post(server.httpPort, '/v2/models/repeat/generate', { IN: 1 })).statusCode).toBe(200);
  });
});

test('unload while a stream is open: the stream finishes (the unload waits for it), then the model is gone', async () => {
  const stream = streamInfer(server.grpcPort!, [repeatRequest('u', [1, 2, 3, 4], {
    inputs: [
      { name: 'IN', datatype: 'INT32', shape: [4] },
      { name: 'DELAY', datatype: 'INT32', shape: [1] },
    ],
    raw_input_contents: [int32Raw([1, 2, 3, 4]), int32Raw([150])],
  })]);
  const version = server.app.manager.readyVersions('repeat')[0];
  await waitFor(() => version.scheduler.pendingCount > 0);
  await server.app.service.unloadModel('repeat');
  const messages = await stream;
  expect(messages.map((m) => m.error_message)).toEqual(['', '', '', '']);
  expect(messages.map((m) => int32sFrom(m.infer_response.raw_output_contents[0])[0])).toEqual([1, 2, 3, 4]);
  const after = await post(server.httpPort, '/v2/models/repeat/generate', { IN: 1 });
  expect(after.statusCode).not.toBe(200);
});
