/**
 * InferenceServerClient against the real server over both protocols: the same cases, the same answers
 * (one facade, two encodings), plus each protocol's own features.
 */
import { InferenceServerClient, InferenceServerError, InferInput, Protocol } from '../../client';
import { MODEL_REPOSITORY, ONES_16, RANGE_16, startServer, StartedServer } from '../grpc/helpers';

const SUMS = RANGE_16.map((v) => v + 1);
const DIFFERENCES = RANGE_16.map((v) => v - 1);

let server: StartedServer;
const clients: Partial<Record<Protocol | 'http-json', InferenceServerClient>> = {};

beforeAll(async () => {
  server = await startServer();
  clients.http = new InferenceServerClient({ url: `127.0.0.1:${server.httpPort}` });
  clients['http-json'] = new InferenceServerClient({
    url: `http://127.0.0.1:${server.httpPort}`,
    http: { binaryThresholdBytes: Infinity, binaryOutputs: false },
  });
  clients.grpc = new InferenceServerClient({ url: `127.0.0.1:${server.grpcPort}`, protocol: 'grpc' });
});

afterAll(async () => {
  for (const client of Object.values(clients)) await client?.close();
  await server?.app.stop();
});

function simpleInputs(batch = 1): InferInput[] {
  const repeat = (row: number[]) => Int32Array.from(Array.from({ length: batch }, () => row).flat());
  return [
    InferInput.fromTypedArray('INPUT0', repeat(RANGE_16), [batch, 16]),
    InferInput.fromTypedArray('INPUT1', repeat(ONES_16), [batch, 16]),
  ];
}

async function failure(promise: Promise<unknown>): Promise<InferenceServerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceServerError);
    return error as InferenceServerError;
  }
  throw new Error('expected the call to fail');
}

describe.each(['http', 'http-json', 'grpc'] as const)('%s', (protocol) => {
  const client = () => clients[protocol]!;

  it('health, server metadata, model readiness', async () => {
    expect(await client().isServerLive()).toBe(true);
    expect(await client().isServerReady()).toBe(true);
    expect(await client().isModelReady('simple')).toBe(true);
    expect(await client().isModelReady('simple', '1')).toBe(false);
    expect(await client().isModelReady('nope')).toBe(false);
    expect((await client().serverMetadata()).name).toBe('triton');
  });

  it('model metadata and config', async () => {
    const metadata = await client().modelMetadata('simple');
    expect(metadata).toEqual(server.app.service.modelMetadata('simple'));
    const config = await client().modelConfig('simple');
    expect(config).toMatchObject({ name: 'simple', max_batch_size: 8 });
    expect((config.input as { dims: number[] }[])[0].dims).toEqual([16]);
  });

  it('infers with typed inputs and outputs', async () => {
    const result = await client().infer('simple', simpleInputs(), { id: 'x1' });
    expect(result.model).toBe('simple');
    expect(result.version).toBe('2');
    expect(result.id).toBe('x1');
    const sums = result.asTypedArray('OUTPUT0');
    expect(sums).toBeInstanceOf(Int32Array);
    expect(Array.from(sums as Int32Array)).toEqual(SUMS);
    expect(Array.from(result.asTypedArray('OUTPUT1') as Int32Array)).toEqual(DIFFERENCES);
    expect(result.shape('OUTPUT0')).toEqual([1, 16]);
  });

  it('requested outputs, batches, FP32 and BYTES', async () => {
    const result = await client().infer('simple', simpleInputs(2), { outputs: ['OUTPUT1'] });
    expect(result.outputs.map((o) => o.name)).toEqual(['OUTPUT1']);
    expect(result.shape('OUTPUT1')).toEqual([2, 16]);

    const mlp = await client().infer('mlp', [InferInput.fromTypedArray('INPUT0', new Float32Array(784).fill(0.5), [1, 784])]);
    const logits = mlp.asTypedArray('OUTPUT0');
    expect(logits).toBeInstanceOf(Float32Array);
    expect(logits).toHaveLength(10);

    const upper = await client().infer('string_upper', [InferInput.fromStrings('INPUT0', ['abc', 'héllo'])]);
    expect(upper.asStrings('OUTPUT0')).toEqual(['ABC', 'HéLLO']); // the model uppercases ASCII
  });

  it('statistics and repository index', async () => {
    const [stats] = await client().modelStatistics('simple');
    expect(stats).toMatchObject({ name: 'simple', version: '2' });
    expect(stats.inference_count).toBeGreaterThan(0);
    expect(typeof stats.inference_stats.queue.ns).toBe('number');
    const index = await client().repositoryIndex();
    expect(index.find((m) => m.name === 'mlp')).toMatchObject({ name: 'mlp', state: 'READY' });
  });

  // The same failures over both protocols: the same message, and the status each protocol derives from the core code.
  it.each([
    ['unknown model', 'nope', simpleInputs, "Request for unknown model: 'nope' is not found", 404, 5],
    ['wrong datatype', 'simple', () => [InferInput.fromTypedArray('INPUT0', new Float32Array(16), [1, 16]), simpleInputs()[1]], "data-type is 'FP32'", 400, 3],
    ['batch too large', 'simple', () => simpleInputs(9), 'batch-size must be <= 8', 400, 3],
    ['missing input', 'simple', () => simpleInputs().slice(0, 1), "missing required input(s) ['INPUT1']", 400, 3],
  ])('%s', async (_name, model, inputs, message, httpStatus, grpcCode) => {
    const error = await failure(client().infer(model as string, (inputs as () => InferInput[])()));
    expect(error.message).toContain(message as string);
    if (protocol === 'grpc') expect(error.grpcCode).toBe(grpcCode);
    else expect(error.httpStatus).toBe(httpStatus);
  });

  it('an unknown model in metadata calls', async () => {
    const error = await failure(client().modelMetadata('nope'));
    expect(error.message).toBe("Request for unknown model: 'nope' is not found");
  });
});

describe('load and unload over both protocols', () => {
  it.each(['http', 'grpc'] as const)('%s', async (protocol) => {
    const client = clients[protocol]!;
    await client.unloadModel('string_upper');
    expect(await client.isModelReady('string_upper')).toBe(false);
    await client.loadModel('string_upper');
    expect(await client.isModelReady('string_upper')).toBe(true);
    await client.loadModel('string_upper', { config: server.app.service.modelConfig('string_upper') });
    expect(await client.isModelReady('string_upper')).toBe(true);
  });
});

describe('gRPC streaming', () => {
  it('iterates responses, errors in place, ids echoed', async () => {
    const stream = clients.grpc!.stream();
    stream.send('simple', simpleInputs(), { id: 'ok-1' });
    stream.send('nope', simpleInputs(), { id: 'bad-1' });
    stream.send('simple', simpleInputs(3), { id: 'ok-2' });
    stream.end();
    const seen = new Map<string, unknown>();
    for await (const response of stream) {
      if (response.ok) seen.set(response.id!, Array.from(response.result.asTypedArray('OUTPUT0') as Int32Array).slice(0, 3));
      else seen.set(response.id!, response.error.message);
    }
    expect(seen.get('ok-1')).toEqual([1, 2, 3]);
    expect(seen.get('ok-2')).toEqual([1, 2, 3]);
    expect(seen.get('bad-1')).toBe("Request for unknown model: 'nope' is not found");
  });

  it('HTTP has no stream', () => {
    expect(() => clients.http!.stream()).toThrow(/gRPC/);
  });

  it('gzip-compressed requests', async () => {
    const gzip = new InferenceServerClient({ url: `127.0.0.1:${server.grpcPort}`, protocol: 'grpc', grpc: { compression: 'gzip' } });
    const result = await gzip.infer('simple', simpleInputs());
    expect(Array.from(result.asTypedArray('OUTPUT0') as Int32Array)).toEqual(SUMS);
    await gzip.close();
  });
});

describe('InferInput', () => {
  it('checks shapes and datatypes', () => {
    expect(() => InferInput.fromTypedArray('x', new Int32Array(3), [2, 2])).toThrow(/holds 4 elements/);
    expect(() => InferInput.fromTypedArray('x', new Int32Array(4), [4], 'FP16')).toThrow(/cannot carry FP16/);
    expect(InferInput.fromTypedArray('x', new Uint16Array(4), [4], 'FP16').datatype).toBe('FP16');
    expect(InferInput.fromTypedArray('x', new BigInt64Array(2), [2]).datatype).toBe('INT64');
  });

  it('points at the example repository', () => {
    expect(MODEL_REPOSITORY).toMatch(/model_repository$/);
  });
});
