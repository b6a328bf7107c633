/**
 * The opt-in fast infer path (server/protocol/http/fast-infer.ts): the same answers as the fastify route, byte for
 * byte, for what it takes; everything else (compression, encoded paths, chunked bodies, restricted APIs, the drain)
 * left to fastify. The whole routes / triton-compat / request-limits suites also run against it (*.fast-infer.test.ts).
 */
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { binaryRequest, httpRequest, MODEL_REPOSITORY, rawBytes, simpleInputs, TestRequest, TestResponse } from './helpers';

async function start(options: { fast: boolean; restrictInference?: boolean }): Promise<{ server: InferenceServerApp; port: number }> {
  const server = createInferenceServer({
    modelRepositories: [MODEL_REPOSITORY],
    modelControlMode: 'explicit',
    loadModels: ['simple', 'mlp'],
    httpPort: 0,
    host: '127.0.0.1',
    allowGrpc: false,
    allowMetrics: false,
    httpFastInferPath: options.fast,
    ...(options.restrictInference ? { httpRestrictedApis: new Map([['inference' as const, { header: 'infer-key', value: 'secret' }]]) } : {}),
  });
  return { server, port: (await server.start()).httpPort! };
}

/** What must be identical on both paths: everything but the Date header. */
function comparable(response: TestResponse) {
  const { date: _date, ...headers } = response.headers;
  return { statusCode: response.statusCode, headers, body: response.rawPayload.toString('base64') };
}

const json = (body: object, headers: Record<string, string> = {}): Omit<TestRequest, 'url'> => ({
  method: 'POST',
  payload: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});

describe('fast infer path', () => {
  let fast: { server: InferenceServerApp; port: number };
  let plain: { server: InferenceServerApp; port: number };
  beforeAll(async () => {
    [fast, plain] = await Promise.all([start({ fast: true }), start({ fast: false })]);
  });
  afterAll(async () => {
    await Promise.all([fast?.server.stop(), plain?.server.stop()]);
  });
  const answered = () => fast.server.http.inferFastPath!.count;

  const [a, b] = simpleInputs();
  const binary = binaryRequest(
    { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } }, { ...b }], outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }] },
    rawBytes(Int32Array.from(a.data as number[])),
  );
  const taken: [string, TestRequest, number][] = [
    ['JSON', { url: '/v2/models/simple/infer', ...json({ id: 'r1', inputs: simpleInputs() }) }, 200],
    ['JSON, a version', { url: '/v2/models/simple/versions/2/infer', ...json({ inputs: simpleInputs() }) }, 200],
    ['binary extension', { url: '/v2/models/simple/infer', method: 'POST', payload: binary.body, headers: binary.headers }, 200],
    ['raw binary', { url: '/v2/models/mlp/infer', method: 'POST', payload: rawBytes(new Float32Array(784).fill(0.5)), headers: { 'inference-header-content-length': '0' } }, 200],
    ['unknown model', { url: '/v2/models/nope/infer', ...json({ inputs: simpleInputs() }) }, 404],
    ['unknown version', { url: '/v2/models/simple/versions/9/infer', ...json({ inputs: simpleInputs() }) }, 404],
    ['malformed JSON', { url: '/v2/models/simple/infer', method: 'POST', payload: '{"inputs": [', headers: {} }, 400],
    ['wrong datatype', { url: '/v2/models/simple/infer', ...json({ inputs: [{ ...a, datatype: 'FP32' }, b] }) }, 400],
    ['bad Inference-Header-Content-Length', { url: '/v2/models/simple/infer', ...json({ inputs: simpleInputs() }, { 'inference-header-content-length': '99999' }) }, 400],
  ];
  it.each(taken)('answers %s as the fastify route does', async (_name, request, status) => {
    const before = answered();
    const [viaFast, viaFastify] = await Promise.all([httpRequest(fast.port, request), httpRequest(plain.port, request)]);
    expect(answered()).toBe(before + 1);
    expect(viaFast.statusCode).toBe(status);
    expect(comparable(viaFast)).toEqual(comparable(viaFastify));
  });

  const left: [string, TestRequest][] = [
    ['a client that accepts gzip', { url: '/v2/models/simple/infer', ...json({ inputs: simpleInputs() }, { 'accept-encoding': 'gzip' }) }],
    ['a percent-encoded path', { url: '/v2/models/simpl%65/infer', ...json({ inputs: simpleInputs() }) }],
    ['a query string', { url: '/v2/models/simple/infer?x=1', ...json({ inputs: simpleInputs() }) }],
    ['a "#" in the path (fastify ends the path there)', { url: '/v2/models/simple#x/infer', ...json({ inputs: simpleInputs() }) }],
    ['a chunked body', { url: '/v2/models/simple/infer', ...json({ inputs: simpleInputs() }, { 'transfer-encoding': 'chunked' }) }],
    ['an empty body', { url: '/v2/models/simple/infer', method: 'POST', headers: {} }],
  ];
  it.each(left)('leaves %s to fastify, with the same answer', async (_name, request) => {
    const before = answered();
    const [viaFast, viaFastify] = await Promise.all([httpRequest(fast.port, request), httpRequest(plain.port, request)]);
    expect(answered()).toBe(before);
    expect(comparable(viaFast)).toEqual(comparable(viaFastify));
  });

  it('is compressed by fastify for a client that accepts gzip', async () => {
    const response = await httpRequest(fast.port, { url: '/v2/models/simple/infer', ...json({ inputs: simpleInputs() }, { 'accept-encoding': 'gzip' }) });
    expect(response.headers['content-encoding']).toBe('gzip');
  });

  it('stops when the drain begins: infer requests get fastify\'s 503', async () => {
    const server = await start({ fast: true });
    const request: TestRequest = { url: '/v2/models/simple/infer', ...json({ inputs: simpleInputs() }) };
    expect((await httpRequest(server.port, request)).statusCode).toBe(200);
    const stopped = server.server.stop();
    const refused = await httpRequest(server.port, request);
    await stopped;
    expect(refused.statusCode).toBe(503);
    expect(refused.headers.connection).toBe('close');
    expect(server.server.http.inferFastPath!.count).toBe(1);
  });
});

describe('fast infer path with --http-restricted-api on inference', () => {
  it('leaves every infer request to fastify, which checks the header', async () => {
    const { server, port } = await start({ fast: true, restrictInference: true });
    try {
      const request: TestRequest = { url: '/v2/models/simple/infer', ...json({ inputs: simpleInputs() }) };
      expect((await httpRequest(port, request)).statusCode).toBe(403);
      expect((await httpRequest(port, { ...request, headers: { ...request.headers, 'infer-key': 'secret' } })).statusCode).toBe(200);
      expect(server.http.inferFastPath!.count).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
