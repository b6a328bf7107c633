/**
 * Parts of Triton's Python model API that Triton's own examples and qa models rely on (found running them unchanged,
 * see docs/triton-compatibility.md): request parameters and id as the model sees them, instance names
 * `<group>_<index>`, using_decoupled_model_transaction_policy, a BLS model_name given as bytes, custom metrics.
 */
import { rawClient, RawClient, unary } from '../grpc/helpers';
import { get, outputs, post, Started, startServer, scratchRepository } from './helpers';
import { streamInfer, int32Contents, int32sFrom } from './streaming-helpers';

let server: Started;
let client: RawClient;

beforeAll(async () => {
  const models = ['triton_api_probe', 'decoupled_policy_probe', 'identity', 'identity_string', 'probe_ensemble'];
  const repository = scratchRepository(models);
  server = await startServer({ modelRepositories: [repository], loadModels: models });
  expect(server.failedModels).toEqual([]);
  client = rawClient(server.grpcPort!);
}, 120_000);

afterAll(async () => {
  client?.close();
  await server?.app.stop();
});

const probe = (mode: string, extra: Record<string, unknown> = {}) =>
  post(server.httpPort, '/v2/models/triton_api_probe/infer', {
    inputs: [{ name: 'MODE', datatype: 'BYTES', shape: [1], data: [mode] }],
    ...extra,
  });

/** The BYTES elements of a raw gRPC output: 4-byte little-endian length, then the bytes. */
function bytesElements(raw: Uint8Array): string[] {
  const buffer = Buffer.from(raw);
  const elements: string[] = [];
  for (let offset = 0; offset < buffer.length; ) {
    const length = buffer.readUInt32LE(offset);
    elements.push(buffer.toString('utf8', offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return elements;
}

test('HTTP request parameters and id reach request.parameters() / request_id(); the ones the server acts on do not', async () => {
  const response = await probe('plain', {
    id: 'req-7',
    parameters: { key1: 'value1', key2: 2, key3: true, key4: 1.5, priority: 0, timeout: 0 },
  });
  expect(response.statusCode).toBe(200);
  const out = outputs(response);
  expect(JSON.parse(out.PARAMETERS.data[0] as string)).toEqual({ key1: 'value1', key2: 2, key3: true, key4: 1.5 });
  expect(out.REQUEST_ID.data).toEqual(['req-7']);
});

test('gRPC request parameters (string, int64, bool, double) reach request.parameters()', async () => {
  const reply = await unary(client, 'ModelInfer', {
    model_name: 'triton_api_probe',
    id: 'grpc-1',
    parameters: {
      text: { string_param: 'hello' },
      count: { int64_param: '42' },
      flag: { bool_param: true },
      ratio: { double_param: 0.25 },
    },
    inputs: [{ name: 'MODE', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('plain')] } }],
  });
  const index = (reply.outputs as Array<{ name: string }>).findIndex((output) => output.name === 'PARAMETERS');
  const [parameters] = bytesElements(reply.raw_output_contents[index]);
  expect(JSON.parse(parameters)).toEqual({ text: 'hello', count: 42, flag: true, ratio: 0.25 });
});

test("an ensemble's request parameters reach its composing models (here after an identity step)", async () => {
  const response = await post(server.httpPort, '/v2/models/probe_ensemble/infer', {
    inputs: [{ name: 'MODE', datatype: 'BYTES', shape: [1], data: ['plain'] }],
    parameters: { key1: 'value1', key2: 2 },
  });
  expect(response.statusCode).toBe(200);
  expect(JSON.parse(outputs(response).PARAMETERS.data[0] as string)).toEqual({ key1: 'value1', key2: 2 });
});

test('a request without parameters sees an empty JSON object', async () => {
  const out = outputs(await probe('plain'));
  expect(JSON.parse(out.PARAMETERS.data[0] as string)).toEqual({});
});

test("instances are named <group name>_<index in group>, as Triton names them (group 'triton_api_probe_0')", async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add(outputs(await probe('plain')).INSTANCE.data[0] as string);
  for (const name of seen) expect(['triton_api_probe_0_0', 'triton_api_probe_0_1']).toContain(name);
});

test('using_decoupled_model_transaction_policy: False for a plain model; a decoupled model that requires True loads and streams', async () => {
  expect(outputs(await probe('plain')).DECOUPLED.data).toEqual([false]);
  const messages = await streamInfer(server.grpcPort!, [
    { model_name: 'decoupled_policy_probe', id: 's1', inputs: [{ name: 'IN', datatype: 'INT32', shape: [1] }], raw_input_contents: [int32Contents([9])] },
  ]);
  const values = messages.filter((m) => !m.error_message).map((m) => int32sFrom(m.infer_response.raw_output_contents[0])[0]);
  expect(values).toEqual([9, 9]);
});

test('a BLS call may name its model with bytes (UTF-8), as Triton accepts', async () => {
  const response = await probe('bls_bytes');
  expect(response.statusCode).toBe(200);
  expect(outputs(response).BLS_OUTPUT.data).toEqual([1.5, 2.5]);
});

test('custom metrics (pb_utils.MetricFamily / Metric) appear on the metrics endpoint and count', async () => {
  const count = async () => {
    const text = (await get(server.metricsPort!, '/metrics')).body;
    expect(text).toContain('# HELP probe_requests Requests the probe served');
    expect(text).toContain('# TYPE probe_requests counter');
    const line = text.split('\n').find((l) => l.startsWith('probe_requests{model="triton_api_probe"} '));
    expect(line).toBeDefined();
    return Number(line!.split(' ')[1]);
  };
  const before = await count();
  await probe('plain');
  await probe('plain');
  // Both instances hold a handle on the same family and label set: one shared value.
  expect(await count()).toBe(before + 2);
});

test('unloading the model releases its metric handles: the family leaves the metrics endpoint', async () => {
  await server.app.service.unloadModel('triton_api_probe');
  const text = (await get(server.metricsPort!, '/metrics')).body;
  expect(text).not.toContain('probe_requests');
});
