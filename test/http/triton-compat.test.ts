/**
 * HTTP answers that clients written for Triton compare exactly: which responses are compressed, the JSON content
 * type, the generate extension's shapes and errors, and request checks with Triton's status and words. One server on
 * the example repository, over loopback.
 */
import * as zlib from 'node:zlib';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { httpRequest, MODEL_REPOSITORY, simpleInputs, startExampleServer, TestResponse } from './helpers';

let server: InferenceServerApp;
let port: number;

beforeAll(async () => {
  ({ server, port } = await startExampleServer(['simple', 'sequence_accumulate', 'string_upper']));
});

afterAll(async () => {
  await server?.stop();
});

function get(url: string, headers: Record<string, string> = {}): Promise<TestResponse> {
  return httpRequest(port, { method: 'GET', url, headers });
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<TestResponse> {
  return httpRequest(port, { method: 'POST', url, payload: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

/** `{"error": ...}` with exactly Triton's content type; returns the message. */
function errorOf(response: TestResponse, status: number): string {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toBe('application/json');
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  return body.error as string;
}

describe('response compression: only successful infer responses, as Triton', () => {
  const gzip = { 'accept-encoding': 'gzip, deflate' };

  it.each([
    ['server metadata', '/v2'],
    ['model metadata', '/v2/models/simple'],
    ['model config', '/v2/models/simple/config'],
    ['statistics', '/v2/models/simple/stats'],
    ['trace settings', '/v2/trace/setting'],
    ['log settings', '/v2/logging'],
    ['shared memory status', '/v2/systemsharedmemory/status'],
  ])('%s stays plain JSON for a client that accepts gzip', async (_name, url) => {
    const response = await get(url, gzip);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-encoding']).toBeUndefined();
    expect(response.headers['content-type']).toBe('application/json');
    expect(() => response.json()).not.toThrow();
  });

  it('the repository index and errors stay plain; an infer response is gzipped', async () => {
    const index = await post('/v2/repository/index', '', gzip);
    expect(index.headers['content-encoding']).toBeUndefined();
    expect(Array.isArray(index.json())).toBe(true);

    const failed = await post('/v2/models/simple/infer', { inputs: [] }, gzip);
    expect(failed.headers['content-encoding']).toBeUndefined();
    expect(errorOf(failed, 400)).toMatch(/expected 2 inputs but got 0 inputs/);

    const inferred = await post('/v2/models/simple/infer', { inputs: simpleInputs() }, gzip);
    expect(inferred.statusCode).toBe(200);
    expect(inferred.headers['content-encoding']).toBe('gzip');
    expect(inferred.headers['content-type']).toBe('application/json');
    const body = JSON.parse(zlib.gunzipSync(inferred.rawPayload).toString()) as { outputs: { name: string }[] };
    expect(body.outputs.map((output) => output.name)).toEqual(['OUTPUT0', 'OUTPUT1']);
  });
});

describe('generate extension', () => {
  it("shapes a plain value to the input's dims: [-1, 1] takes it as [1, 1]", async () => {
    const response = await post('/v2/models/sequence_accumulate/generate', {
      INPUT: 5,
      sequence_id: 41,
      sequence_start: true,
      sequence_end: true,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.json()).toEqual({ model_name: 'sequence_accumulate', model_version: '1', OUTPUT: 5 });
  });

  it('fills fixed dims and refuses a count they cannot hold, in Triton words', async () => {
    const values = Array.from({ length: 16 }, (_, i) => i);
    const ok = await post('/v2/models/simple/generate', { INPUT0: values, INPUT1: values, id: '' });
    expect(ok.statusCode).toBe(200);
    const body = ok.json() as Record<string, unknown>;
    expect(body.OUTPUT0).toEqual(values.map((v) => 2 * v));
    expect(body).not.toHaveProperty('id'); // an empty id is left out, as Triton
    const wrong = await post('/v2/models/simple/generate', { INPUT0: [1, 2, 3], INPUT1: values });
    expect(errorOf(wrong, 400)).toBe("The schema can not convert input 'INPUT0' to tensor with proper shape");
  });

  it('parameters: a JSON object, of scalars; other non-input fields are scalar parameters', async () => {
    const base = { INPUT0: new Array(16).fill(1), INPUT1: new Array(16).fill(1) };
    expect(errorOf(await post('/v2/models/simple/generate', { ...base, parameters: 1 }), 400)).toBe(
      "Expected JSON object for keyword: 'parameters'",
    );
    expect(errorOf(await post('/v2/models/simple/generate', { ...base, parameters: { nested: { twice: 1 } } }), 400)).toMatch(
      /^Converting keyword: 'parameters': parameter 'nested' has invalid type\./,
    );
    expect(errorOf(await post('/v2/models/simple/generate', { ...base, PARAMS: { a: 1 } }), 400)).toMatch(
      /^parameter 'PARAMS' has invalid type/,
    );
    expect(errorOf(await post('/v2/models/string_upper/generate', { INPUT0: 123 }), 400)).toMatch(
      /attempt to access JSON non-string as string/,
    );
  });

  it('generate_stream refused before running answers a plain JSON error; a model error is an SSE event with its status', async () => {
    const refused = await post('/v2/models/simple/generate_stream', { INPUT0: [1] });
    expect(errorOf(refused, 400)).toMatch(/can not convert input 'INPUT0'/);
    const values = new Array(16).fill(2);
    const streamed = await post('/v2/models/simple/generate_stream', { INPUT0: values, INPUT1: values });
    expect(streamed.statusCode).toBe(200);
    expect(streamed.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(streamed.body).toBe(`data: ${JSON.stringify({ model_name: 'simple', model_version: '2', OUTPUT0: new Array(16).fill(4), OUTPUT1: new Array(16).fill(0) })}\n\n`);
  });
});

describe('request checks with Triton status codes and words', () => {
  const request = (extra: Record<string, unknown>) => ({ inputs: simpleInputs(), ...extra });

  it('an output requested twice is 400', async () => {
    const response = await post('/v2/models/simple/infer', request({ id: 'twice', outputs: [{ name: 'OUTPUT0' }, { name: 'OUTPUT0' }] }));
    expect(errorOf(response, 400)).toBe("[request id: twice] output 'OUTPUT0' already exists in request");
    expect((await get('/v2/health/live')).statusCode).toBe(200);
  });

  it('a negative dimension is 500 with TritonJson words', async () => {
    const response = await post('/v2/models/simple/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [2, -5], data: [1] }],
    });
    expect(errorOf(response, 500)).toBe("Unable to parse 'shape': attempt to access JSON non-unsigned-integer as unsigned-integer");
  });

  it('a shape past 64-bit counts is 400 with Triton words: element count, then byte size', async () => {
    const shaped = (shape: number[]) => ({ inputs: [{ name: 'INPUT0', datatype: 'INT32', shape, data: [1] }, simpleInputs()[1]] });
    expect(errorOf(await post('/v2/models/simple/infer', shaped([16, 2 ** 60])), 400)).toMatch(
      /^invalid shape for input 'INPUT0': shape \[16,\d+\] causes total element count to exceed maximum size of 9223372036854775807$/,
    );
    expect(errorOf(await post('/v2/models/simple/infer', shaped([4, 2 ** 60])), 400)).toMatch(/^byte size overflow for input 'INPUT0'/);
  });

  it('data nested 120 deep is refused at Triton\'s limit of 100; 50 deep is served', async () => {
    const nested = (depth: number, leaf: string) => JSON.parse('['.repeat(depth) + leaf + ']'.repeat(depth)) as unknown;
    const deep = await post('/v2/models/string_upper/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1], data: nested(120, '"a"') }],
    });
    expect(errorOf(deep, 400)).toBe('JSON nesting depth exceeds maximum allowed limit (100)');
    const fine = await post('/v2/models/string_upper/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1], data: nested(50, '"a"') }],
    });
    expect(fine.statusCode).toBe(200);
  });

  it("a repository index body with 'ready' nested 250000 arrays deep is a 400 and the server stays up", async () => {
    const depth = 250_000;
    const response = await post('/v2/repository/index', `{"ready":${'['.repeat(depth)}true${']'.repeat(depth)}}`);
    expect(errorOf(response, 400)).toBe("Invalid value for 'ready': expected a boolean");
    expect((await get('/v2/health/live')).statusCode).toBe(200);
  });

    it.each(['../m', 'a/../b', '..', ' .. ', 'm/', '/etc/passwd'])('loading %j is refused as path traversal', async (name) => {
    const response = await post(`/v2/repository/models/${encodeURIComponent(name)}/load`, '');
    expect(errorOf(response, 400)).toBe(`invalid model name '${name}', model name must not contain path traversal characters`);
  });

  it.each([' ', '\t', ' \n '])('loading a blank name %j is refused', async (name) => {
    const response = await post(`/v2/repository/models/${encodeURIComponent(name)}/load`, '');
    expect(errorOf(response, 400)).toBe('Model name cannot be empty. Please enter a valid name to deploy.');
  });

  it("classification of a BYTES output is refused in Triton's words", async () => {
    const response = await post('/v2/models/string_upper/infer', {
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1], data: ['a'] }],
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 1 } }],
    });
    expect(errorOf(response, 400)).toBe("class result not available for output due to unsupported type 'BYTES'");
  });

  it('shape and batch errors carry Triton wording', async () => {
    const batch = await post('/v2/models/simple/infer', { inputs: simpleInputs(9) });
    expect(errorOf(batch, 400)).toBe("[request id: <id_unknown>] inference request batch-size must be <= 8 for 'simple'");
    const shape = await post('/v2/models/simple/infer', {
      inputs: simpleInputs().map((input) => ({ ...input, shape: [1, 8], data: input.data!.slice(0, 8) })),
    });
    expect(errorOf(shape, 400)).toMatch(
      /^\[request id: <id_unknown>\] unexpected shape for input 'INPUT0' for model 'simple'\. Expected \[-1,16\], got \[1,8\]\. NOTE: Setting a non-zero max_batch_size/,
    );
  });
});

describe('model control outside explicit mode', () => {
  it("refuses load and unload in mode none with Triton's words, which name polling for both modes", async () => {
    const none = createInferenceServer({ modelRepositories: [MODEL_REPOSITORY], modelControlMode: 'none', httpPort: 0, host: '127.0.0.1' });
    try {
      const noneHttp = (await none.start()).httpPort!;
      for (const action of ['load', 'unload']) {
        const response = await httpRequest(noneHttp, { method: 'POST', url: `/v2/repository/models/simple/${action}`, payload: '' });
        expect(errorOf(response, 503)).toBe('explicit model load / unload is not allowed if polling is enabled');
      }
    } finally {
      await none.stop();
    }
  });
});
