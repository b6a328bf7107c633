/**
 * Every HTTP endpoint against the real server (createInferenceServer on examples/model_repository), over loopback
 * HTTP on an ephemeral port. Model control is explicit so load/unload can be exercised.
 */
import * as zlib from 'node:zlib';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { serializeBytesElements } from '../../server/core/tensor';
import {
  binaryRequest,
  httpPathOptions,
  httpRequest,
  int32s,
  MODEL_REPOSITORY,
  ONES_16,
  parseBinaryResponse,
  RANGE_16,
  rawBytes,
  simpleInputs,
  startExampleServer,
  TestRequest,
  TestResponse,
} from './helpers';

const SUMS = RANGE_16.map((v) => v + 1);
const DIFFERENCES = RANGE_16.map((v) => v - 1);

let server: InferenceServerApp;
let port: number;

beforeAll(async () => {
  ({ server, port } = await startExampleServer(['*']));
});

afterAll(async () => {
  await server?.stop();
});

function send(request: TestRequest): Promise<TestResponse> {
  return httpRequest(port, request);
}

function get(url: string) {
  return send({ method: 'GET', url });
}

function post(url: string, payload?: string | Buffer | object, headers: Record<string, string> = {}) {
  const body = payload === undefined || typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  return send({ method: 'POST', url, payload: body, headers });
}

function infer(model: string, request: object, headers: Record<string, string> = {}) {
  return post(`/v2/models/${model}/infer`, request, headers);
}

/** Asserts Triton's error shape and returns the message. */
function expectError(response: TestResponse, status: number): string {
  expect(response.statusCode).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json() as { error: unknown };
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
  return body.error as string;
}

interface JsonInferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
}

function outputsByName(response: TestResponse): Record<string, JsonInferResponse['outputs'][number]> {
  const body = response.json() as JsonInferResponse;
  return Object.fromEntries(body.outputs.map((output) => [output.name, output]));
}

describe('server endpoints', () => {
  it('GET /v2 answers server metadata with the extensions', async () => {
    const response = await get('/v2');
    expect(response.statusCode).toBe(200);
    const body = response.json() as { name: string; version: string; extensions: string[] };
    expect(typeof body.name).toBe('string');
    expect(typeof body.version).toBe('string');
    expect(body.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'model_repository', 'statistics']));
  });

  it.each(['/v2/health/live', '/v2/health/ready'])('GET %s is 200 with an empty body', async (url) => {
    const response = await get(url);
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('');
  });

  it('answers HEAD on the GET endpoints', async () => {
    const response = await send({ method: 'HEAD', url: '/v2/health/ready' });
    expect(response.statusCode).toBe(200);
  });

  it('unknown paths are 404 and known paths with the wrong method 405, both as JSON errors', async () => {
    expectError(await get('/v2/nothing/here'), 404);
    expectError(await get('/v1/models/simple'), 404);
    expect(expectError(await get('/v2/models/simple/infer'), 405)).toBe('Method Not Allowed');
    expectError(await post('/v2/health/live'), 405);
  });

  it('a malformed URL escape is a 400 JSON error', async () => {
    expectError(await get('/v2/models/%E0%A4%A/ready'), 400);
  });
});

describe('model endpoints', () => {
  it('metadata shows the batch dimension as -1 and the served versions', async () => {
    const response = await get('/v2/models/simple');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      name: 'simple',
      versions: ['2'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
    });
    expect((await get('/v2/models/simple/versions/2')).statusCode).toBe(200);
  });

  it('an unknown model or version is 404 with Triton message', async () => {
    expect(expectError(await get('/v2/models/nope'), 404)).toBe("Request for unknown model: 'nope' is not found");
    expect(expectError(await get('/v2/models/simple/versions/3'), 404)).toBe(
      "Request for unknown model: 'simple' version 3 is not found",
    );
  });

  it('ready is 200 or 400 with an empty body', async () => {
    for (const [url, status] of [
      ['/v2/models/simple/ready', 200],
      ['/v2/models/simple/versions/2/ready', 200],
      ['/v2/models/simple/versions/3/ready', 400],
      ['/v2/models/nope/ready', 400],
    ] as const) {
      const response = await get(url);
      expect([url, response.statusCode]).toEqual([url, status]);
      expect(response.body).toBe('');
    }
  });

  it('config is the model configuration as protobuf JSON', async () => {
    const response = await get('/v2/models/simple/config');
    expect(response.statusCode).toBe(200);
    const config = response.json() as { name: string; platform: string; max_batch_size: number; input: { name: string }[] };
    expect(config).toMatchObject({ name: 'simple', platform: 'onnxruntime_onnx', max_batch_size: 8 });
    expect(config.input.map((input) => input.name)).toEqual(['INPUT0', 'INPUT1']);
  });

  it('config of a model without config.pbtxt is auto-completed from the ONNX file', async () => {
    const response = await get('/v2/models/add_sub_autocomplete/config');
    expect(response.statusCode).toBe(200);
    const config = response.json() as {
      max_batch_size: number;
      platform: string;
      input: { name: string; data_type: string; dims: (number | string)[] }[];
      output: { name: string; data_type: string; dims: (number | string)[] }[];
    };
    expect(config.platform).toBe('onnxruntime_onnx');
    expect(config.max_batch_size).toBe(4);
    for (const tensor of [...config.input, ...config.output]) {
      expect(tensor.data_type).toBe('TYPE_FP32');
      expect(tensor.dims.map(String)).toEqual(['4']);
    }
    expect(config.input.map((t) => t.name)).toEqual(['INPUT0', 'INPUT1']);
  });

  it('statistics count inferences, for all models, one model and one version', async () => {
    const before = (await get('/v2/models/simple/versions/2/stats')).json() as { model_stats: { inference_count: number }[] };
    expect((await infer('simple', { inputs: simpleInputs(2) })).statusCode).toBe(200);
    const after = (await get('/v2/models/simple/versions/2/stats')).json() as {
      model_stats: { name: string; version: string; inference_count: number; inference_stats: { success: { count: number } } }[];
    };
    expect(after.model_stats).toHaveLength(1);
    expect(after.model_stats[0]).toMatchObject({ name: 'simple', version: '2' });
    expect(after.model_stats[0].inference_count).toBe(before.model_stats[0].inference_count + 2);

    const all = (await get('/v2/models/stats')).json() as { model_stats: { name: string }[] };
    expect(all.model_stats.map((s) => s.name)).toEqual(expect.arrayContaining(['simple', 'mlp', 'string_upper', 'add_sub_autocomplete']));
    const one = (await get('/v2/models/simple/stats')).json() as { model_stats: { name: string }[] };
    expect(one.model_stats.map((s) => s.name)).toEqual(['simple']);
    expectError(await get('/v2/models/nope/stats'), 404);
  });
});

describe('infer: JSON', () => {
  it('runs simple: OUTPUT0 = sum, OUTPUT1 = difference, model_version a string, id echoed', async () => {
    const response = await infer('simple', { id: 'req-7', inputs: simpleInputs() });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const body = response.json() as JsonInferResponse;
    expect(body).toEqual({
      id: 'req-7',
      model_name: 'simple',
      model_version: '2',
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], data: SUMS },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16], data: DIFFERENCES },
      ],
    });
  });

  it('leaves id out when the request had none; accepts nested data, batches and a version in the URL', async () => {
    const [a, b] = simpleInputs(2);
    const nested = [
      { ...a, data: [RANGE_16, RANGE_16] },
      { ...b, data: [ONES_16, ONES_16] },
    ];
    const response = await post('/v2/models/simple/versions/2/infer', { inputs: nested });
    expect(response.statusCode).toBe(200);
    const body = response.json() as JsonInferResponse;
    expect('id' in body).toBe(false);
    expect(body.outputs[0]).toEqual({ name: 'OUTPUT0', datatype: 'INT32', shape: [2, 16], data: [...SUMS, ...SUMS] });
  });

  it('returns only the requested outputs', async () => {
    const response = await infer('simple', { inputs: simpleInputs(), outputs: [{ name: 'OUTPUT1' }] });
    expect(Object.keys(outputsByName(response))).toEqual(['OUTPUT1']);
  });

  it('runs add_sub_autocomplete (FP32, auto-completed config)', async () => {
    const response = await infer('add_sub_autocomplete', {
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4.5] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [0.5, 0.5, 0.5, 0.5] },
      ],
    });
    expect(response.statusCode).toBe(200);
    const outputs = outputsByName(response);
    expect(outputs.OUTPUT0).toEqual({ name: 'OUTPUT0', datatype: 'FP32', shape: [1, 4], data: [1.5, 2.5, 3.5, 5] });
    expect(outputs.OUTPUT1.data).toEqual([0.5, 1.5, 2.5, 4]);
  });

  it('runs mlp: FP32 [1, 784] → [1, 10] finite logits', async () => {
    const data = Array.from({ length: 784 }, (_, i) => (i % 7) / 7);
    const response = await infer('mlp', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 784], data }] });
    expect(response.statusCode).toBe(200);
    const output = outputsByName(response).OUTPUT0;
    expect(output.shape).toEqual([1, 10]);
    expect((output.data as number[]).every(Number.isFinite)).toBe(true);
  });

  it('runs string_upper: BYTES strings in and out', async () => {
    const response = await infer('string_upper', {
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [3], data: ['hello', 'World', 'x y'] }],
    });
    expect(response.statusCode).toBe(200);
    expect(outputsByName(response).OUTPUT0).toEqual({ name: 'OUTPUT0', datatype: 'BYTES', shape: [3], data: ['HELLO', 'WORLD', 'X Y'] });
  });
});

describe('infer: binary tensor data extension', () => {
  const int32Input = (name: string, values: number[]) => ({
    name,
    datatype: 'INT32',
    shape: [1, 16],
    parameters: { binary_data_size: values.length * 4 },
  });

  it('binary inputs and binary outputs (binary_data_output)', async () => {
    const { body, headers } = binaryRequest(
      { inputs: [int32Input('INPUT0', RANGE_16), int32Input('INPUT1', ONES_16)], parameters: { binary_data_output: true } },
      rawBytes(Int32Array.from(RANGE_16)),
      rawBytes(Int32Array.from(ONES_16)),
    );
    const response = await post('/v2/models/simple/infer', body, headers);
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/octet-stream');
    const headerLength = Number(response.headers['inference-header-content-length']);
    const { json, raw } = parseBinaryResponse(response.rawPayload, headerLength);
    expect(json.model_version).toBe('2');
    expect(json.outputs.map((o) => [o.name, o.shape, o.parameters])).toEqual([
      ['OUTPUT0', [1, 16], { binary_data_size: 64 }],
      ['OUTPUT1', [1, 16], { binary_data_size: 64 }],
    ]);
    expect(int32s(raw.get('OUTPUT0')!)).toEqual(SUMS);
    expect(int32s(raw.get('OUTPUT1')!)).toEqual(DIFFERENCES);
  });

  it('mixes JSON and binary inputs, and binary and JSON outputs per output', async () => {
    const { body, headers } = binaryRequest(
      {
        inputs: [simpleInputs()[0], int32Input('INPUT1', ONES_16)],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }, { name: 'OUTPUT1' }],
      },
      rawBytes(Int32Array.from(ONES_16)),
    );
    const response = await post('/v2/models/simple/infer', body, headers);
    expect(response.statusCode).toBe(200);
    const { json, raw } = parseBinaryResponse(response.rawPayload, Number(response.headers['inference-header-content-length']));
    expect(int32s(raw.get('OUTPUT0')!)).toEqual(SUMS);
    expect(json.outputs[1].data).toEqual(DIFFERENCES);
    expect(raw.has('OUTPUT1')).toBe(false);
  });

  it('BYTES with 4-byte length framing both ways', async () => {
    const framed = serializeBytesElements(['abc', 'Grüße'].map((s) => Buffer.from(s)));
    const { body, headers } = binaryRequest(
      {
        inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: framed.length } }],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
      },
      framed,
    );
    const response = await post('/v2/models/string_upper/infer', body, headers);
    expect(response.statusCode).toBe(200);
    const { raw } = parseBinaryResponse(response.rawPayload, Number(response.headers['inference-header-content-length']));
    // The C locale upper-cases ASCII only.
    expect(Buffer.compare(raw.get('OUTPUT0')!, Buffer.from(serializeBytesElements(['ABC', 'GRüßE'].map((s) => Buffer.from(s)))))).toBe(0);
  });

  it('FP32 binary input to mlp with JSON output', async () => {
    const input = new Float32Array(2 * 784).fill(0.25);
    const { body, headers } = binaryRequest(
      { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [2, 784], parameters: { binary_data_size: input.byteLength } }] },
      rawBytes(input),
    );
    const response = await post('/v2/models/mlp/infer', body, headers);
    expect(response.statusCode).toBe(200);
    const output = outputsByName(response).OUTPUT0;
    expect(output.shape).toEqual([2, 10]);
    expect((output.data as number[]).slice(0, 10)).toEqual((output.data as number[]).slice(10));
  });

  it('a raw request (Inference-Header-Content-Length: 0) feeds the only input and answers in binary', async () => {
    const input = new Float32Array(784).fill(0.5);
    const response = await post('/v2/models/mlp/infer', rawBytes(input), { 'inference-header-content-length': '0' });
    expect(response.statusCode).toBe(200);
    const { json, raw } = parseBinaryResponse(response.rawPayload, Number(response.headers['inference-header-content-length']));
    expect(json.outputs[0]).toMatchObject({ name: 'OUTPUT0', shape: [1, 10], parameters: { binary_data_size: 40 } });
    expect(raw.get('OUTPUT0')!.length).toBe(40);
  });
});

describe('infer: errors', () => {
  it('unknown model is 404 with Triton message', async () => {
    expect(expectError(await infer('nope', { inputs: simpleInputs() }), 404)).toBe("Request for unknown model: 'nope' is not found");
  });

  it('unknown version is 404', async () => {
    const response = await post('/v2/models/simple/versions/3/infer', { inputs: simpleInputs() });
    expect(expectError(response, 404)).toBe("Request for unknown model: 'simple' version 3 is not found");
  });

  it('wrong shape, datatype, element count and missing input are 400', async () => {
    const [a, b] = simpleInputs();
    const shape = await infer('simple', { inputs: [{ ...a, shape: [1, 15], data: RANGE_16.slice(1) }, { ...b, shape: [1, 15], data: ONES_16.slice(1) }] });
    expect(expectError(shape, 400)).toMatch(/unexpected shape for input 'INPUT0' for model 'simple'/);

    const datatype = await infer('simple', { inputs: [{ ...a, datatype: 'FP32' }, b] });
    expect(expectError(datatype, 400)).toMatch(/data-type is 'FP32', but model 'simple' expects 'INT32'/);

    const count = await infer('simple', { inputs: [{ ...a, data: RANGE_16.slice(1) }, b] });
    expect(expectError(count, 400)).toMatch(/shape implies 16, data holds 15/);

    expect(expectError(await infer('simple', { inputs: [a] }), 400)).toMatch(/missing required input/);
    expect(expectError(await infer('simple', { inputs: [a, { ...b, datatype: 'INT33' }] }), 400)).toMatch(/invalid datatype 'INT33'/);
    expect(expectError(await infer('simple', { inputs: [a, { ...b, data: [...ONES_16.slice(1), 'x'] }] }), 400)).toMatch(/Unable to parse 'data'/);
  });

  it('bad JSON and empty bodies are 400', async () => {
    expect(expectError(await post('/v2/models/simple/infer', '{"inputs": [', { 'content-type': 'application/json' }), 400)).toMatch(
      /^failed to parse the request JSON buffer/,
    );
    expectError(await post('/v2/models/simple/infer'), 400);
  });

  it('bad binary headers and sizes are 400', async () => {
    const json = {
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
      ],
    };
    const good = binaryRequest(json, Buffer.alloc(64), Buffer.alloc(64));
    const withHeader = (value: string) => ({ ...good.headers, 'inference-header-content-length': value });
    expect(expectError(await post('/v2/models/simple/infer', good.body, withHeader('abc')), 400)).toMatch(/Inference-Header-Content-Length/);
    expect(expectError(await post('/v2/models/simple/infer', good.body, withHeader('100000')), 400)).toMatch(/Inference-Header-Content-Length/);
    expectError(await post('/v2/models/simple/infer', good.body, withHeader('10')), 400);

    const short = binaryRequest(json, Buffer.alloc(64), Buffer.alloc(60));
    expect(expectError(await post('/v2/models/simple/infer', short.body, short.headers), 400)).toMatch(/expecting 4 additional bytes/);
    const long = binaryRequest(json, Buffer.alloc(64), Buffer.alloc(68));
    expect(expectError(await post('/v2/models/simple/infer', long.body, long.headers), 400)).toMatch(/unexpected additional input data/);
    const sized = binaryRequest({ inputs: [{ ...json.inputs[0], parameters: { binary_data_size: 60 } }, json.inputs[1]] }, Buffer.alloc(60), Buffer.alloc(64));
    expect(expectError(await post('/v2/models/simple/infer', sized.body, sized.headers), 400)).toMatch(/input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 60/);
    expect(expectError(await post('/v2/models/simple/infer', good.body), 400)).toMatch(/failed to parse the request JSON buffer/);
  });

  it.each([
    ['a reserved parameter key', { triton_x: 1 }, "parameter keys starting with 'triton_' are reserved for Triton usage and should not be specified."],
    ['a negative priority', { priority: -1 }, "Unable to parse 'priority': expected a non-negative integer"],
    ['a fractional timeout', { timeout: 1.5 }, "Unable to parse 'timeout': expected a non-negative integer"],
  ])('request parameters: %s is 400 (checked once, in the facade)', async (_name, parameters, message) => {
    const response = await post('/v2/models/simple/infer', JSON.stringify({ inputs: simpleInputs(), parameters }));
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: message });
  });

  it('a raw request for a model with two inputs is 400', async () => {
    expectError(await post('/v2/models/simple/infer', Buffer.alloc(128), { 'inference-header-content-length': '0' }), 400);
  });
});

describe('compression', () => {
  const body = JSON.stringify({ inputs: simpleInputs() });

  it.each([
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
  ] as const)('decompresses a %s request body', async (encoding, compress) => {
    const response = await post('/v2/models/simple/infer', compress(body), { 'content-encoding': encoding });
    expect(response.statusCode).toBe(200);
    expect(outputsByName(response).OUTPUT0.data).toEqual(SUMS);
  });

  it.each([
    ['gzip', zlib.gunzipSync],
    ['deflate', zlib.inflateSync],
  ] as const)('compresses the response for Accept-Encoding: %s', async (encoding, decompress) => {
    const response = await post('/v2/models/simple/infer', body, { 'accept-encoding': encoding });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-encoding']).toBe(encoding);
    const json = JSON.parse(decompress(response.rawPayload).toString()) as JsonInferResponse;
    expect(json.outputs[1].data).toEqual(DIFFERENCES);
  });

  it('binary requests: Inference-Header-Content-Length counts the decompressed body, both ways', async () => {
    const { body: binary, headers } = binaryRequest(
      {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        ],
        parameters: { binary_data_output: true },
      },
      rawBytes(Int32Array.from(RANGE_16)),
      rawBytes(Int32Array.from(ONES_16)),
    );
    const response = await post('/v2/models/simple/infer', zlib.gzipSync(binary), {
      ...headers,
      'content-encoding': 'gzip',
      'accept-encoding': 'gzip',
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-encoding']).toBe('gzip');
    const plain = zlib.gunzipSync(response.rawPayload);
    const { raw } = parseBinaryResponse(plain, Number(response.headers['inference-header-content-length']));
    expect(int32s(raw.get('OUTPUT0')!)).toEqual(SUMS);
  });

  it('an unsupported Content-Encoding is 415, a corrupt body 400', async () => {
    const unsupported = await post('/v2/models/simple/infer', body, { 'content-encoding': 'br' });
    expectError(unsupported, 415);
    expect(unsupported.headers['accept-encoding']).toBe('gzip, deflate');
    expect(expectError(await post('/v2/models/simple/infer', 'not gzip', { 'content-encoding': 'gzip' }), 400)).toMatch(/decompress/);
  });
});

describe('repository extension', () => {
  it('index lists every model with its state; ready: true filters; a bad body is 400', async () => {
    const all = await post('/v2/repository/index');
    expect(all.statusCode).toBe(200);
    const entries = all.json() as { name: string; version?: string; state?: string }[];
    expect(entries.map((e) => e.name)).toEqual(['add_sub_autocomplete', 'mlp', 'sequence_accumulate', 'simple', 'simple_chain', 'string_upper']);
    expect(entries.every((e) => e.state === 'READY')).toBe(true);
    const ready = await post('/v2/repository/index', { ready: true });
    expect((ready.json() as unknown[]).length).toBe(entries.length);
    expect(expectError(await post('/v2/repository/index', { ready: 'yes' }), 400)).toMatch(/'ready'/);
    expectError(await post('/v2/repository/index', '{oops'), 400);
  });

  it('load with a config override serves versions 1 and 2 side by side', async () => {
    const config = (await get('/v2/models/simple/config')).json() as Record<string, unknown>;
    const override = JSON.stringify({ ...config, version_policy: { all: {} } });
    const load = await post('/v2/repository/models/simple/load', { parameters: { config: override } });
    expect(load.statusCode).toBe(200);
    expect(load.body).toBe('');

    for (const version of ['1', '2']) {
      expect((await get(`/v2/models/simple/versions/${version}/ready`)).statusCode).toBe(200);
      const response = await post(`/v2/models/simple/versions/${version}/infer`, { inputs: simpleInputs() });
      expect(response.statusCode).toBe(200);
      expect((response.json() as JsonInferResponse).model_version).toBe(version);
    }
    // Without a version the highest ready one serves.
    expect(((await infer('simple', { inputs: simpleInputs() })).json() as JsonInferResponse).model_version).toBe('2');

    // Back to the repository's own config: only the latest version.
    expect((await post('/v2/repository/models/simple/load')).statusCode).toBe(200);
    expect((await get('/v2/models/simple')).json()).toMatchObject({ versions: ['2'] });
  });

  it('unload makes the model unavailable at once; infer fails immediately; load brings it back', async () => {
    const unload = await post('/v2/repository/models/string_upper/unload', { parameters: { unload_dependents: true } });
    expect(unload.statusCode).toBe(200);
    expect(unload.body).toBe('');
    expect((await get('/v2/models/string_upper/ready')).statusCode).toBe(400);

    // Answered, not queued until a load: a request held for the model would hang until jest's timeout.
    const response = await infer('string_upper', { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [1], data: ['a'] }] });
    expect(expectError(response, 404)).toMatch(/string_upper/);
    const index = (await post('/v2/repository/index')).json() as { name: string; state?: string }[];
    expect(index.find((e) => e.name === 'string_upper')?.state).toBe('UNAVAILABLE');

    expect((await post('/v2/repository/models/string_upper/load')).statusCode).toBe(200);
    expect((await get('/v2/models/string_upper/ready')).statusCode).toBe(200);
  });

  it('bad load and unload requests are JSON errors', async () => {
    expect(expectError(await post('/v2/repository/models/simple/load', { parameters: { config: {} } }), 400)).toMatch(/'config'/);
    // Model files without the config (Triton's INTERNAL poll failure; file loads: test/server/file-override.test.ts).
    expect(expectError(await post('/v2/repository/models/simple/load', { parameters: { 'file:1/model.onnx': 'AAAA' } }), 500)).toMatch(
      /failed to poll from model repository/,
    );
    expect(expectError(await post('/v2/repository/models/simple/load', { parameters: { other: 'x' } }), 400)).toMatch(/unexpected load parameter/);
    expectError(await post('/v2/repository/models/simple/load', { parameters: { config: '{not json' } }), 400);
    expect(expectError(await post('/v2/repository/models/simple/unload', { parameters: { unload_dependents: 1 } }), 400)).toMatch(
      /'unload_dependents'/,
    );
    const missing = await post('/v2/repository/models/no_such_model/load');
    expect(missing.statusCode).toBeGreaterThanOrEqual(400);
    expect(missing.statusCode).toBeLessThan(500);
    expect((missing.json() as { error: string }).error).toMatch(/no_such_model/);
    expect((await get('/v2/models/simple/ready')).statusCode).toBe(200);
  });
});

describe('plain HTTP clients', () => {
  it('serves JSON infer with no Content-Type at all', async () => {
    const response = await httpRequest(port, { method: 'POST', url: '/v2/models/simple/infer', payload: JSON.stringify({ inputs: simpleInputs() }) });
    expect(response.statusCode).toBe(200);
    expect((response.json() as JsonInferResponse).outputs[0].data).toEqual(SUMS);
  });

  it('serves binary infer with a gzip response', async () => {
    const { body, headers } = binaryRequest(
      {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        ],
        outputs: [{ name: 'OUTPUT1', parameters: { binary_data: true } }],
      },
      rawBytes(Int32Array.from(RANGE_16)),
      rawBytes(Int32Array.from(ONES_16)),
    );
    const response = await httpRequest(port, {
      method: 'POST',
      url: '/v2/models/simple/infer',
      headers: { ...headers, 'accept-encoding': 'gzip' },
      payload: body,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-encoding']).toBe('gzip');
    const { raw } = parseBinaryResponse(zlib.gunzipSync(response.rawPayload), Number(response.headers['inference-header-content-length']));
    expect(int32s(raw.get('OUTPUT1')!)).toEqual(DIFFERENCES);
  });
});

describe('body limit (--http-max-input-size)', () => {
  let small: InferenceServerApp;
  let smallPort: number;
  const LIMIT = 4096;

  beforeAll(async () => {
    small = createInferenceServer({
      modelRepositories: [MODEL_REPOSITORY],
      modelControlMode: 'explicit',
      loadModels: ['simple'],
      httpPort: 0,
      host: '127.0.0.1',
      httpMaxInputSize: LIMIT,
      ...httpPathOptions(),
    });
    smallPort = (await small.start()).httpPort!;
  });

  afterAll(async () => {
    await small?.stop();
  });

  it("a body over the limit is 400 with Triton's words, also when only its decompressed size is over", async () => {
    const over = JSON.stringify({ inputs: simpleInputs(), pad: 'x'.repeat(LIMIT) });
    const plain = await httpRequest(smallPort, { method: 'POST', url: '/v2/models/simple/infer', payload: over });
    expect(expectError(plain, 400)).toBe(
      `request JSON size of ${Buffer.byteLength(over)} bytes exceeds the maximum allowed input size of ${LIMIT} bytes. ` +
        'Use --http-max-input-size to increase the limit.',
    );
    const raw = await httpRequest(smallPort, {
      method: 'POST',
      url: '/v2/models/simple/infer',
      payload: Buffer.alloc(LIMIT + 4),
      headers: { 'inference-header-content-length': '0' },
    });
    expect(expectError(raw, 400)).toMatch(/^Raw input has a byte_size \(4100 bytes\) that exceeds the maximum allowed value of 4096 bytes/);
    const bomb = zlib.gzipSync(Buffer.alloc(50 * LIMIT, 0x20));
    expect(bomb.length).toBeLessThan(LIMIT);
    const gzipped = await httpRequest(smallPort, {
      method: 'POST',
      url: '/v2/models/simple/infer',
      payload: bomb,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(expectError(gzipped, 400)).toBe('Decompressed data size exceeds the maximum allowed value of 4096 bytes. Use --http-max-input-size to increase the limit.');
  });

  it('survives oversized bodies over the wire and keeps serving', async () => {
    const big = await httpRequest(smallPort, { method: 'POST', url: '/v2/models/simple/infer', payload: Buffer.alloc(64 * LIMIT, 0x20) });
    expectError(big, 400);
    const chunked = await httpRequest(smallPort, {
      method: 'POST',
      url: '/v2/models/simple/infer',
      headers: { 'transfer-encoding': 'chunked' },
      payload: Buffer.alloc(64 * LIMIT, 0x20),
    });
    expectError(chunked, 400);
    const ok = await httpRequest(smallPort, { method: 'POST', url: '/v2/models/simple/infer', payload: JSON.stringify({ inputs: simpleInputs() }) });
    expect(ok.statusCode).toBe(200);
  });
});
