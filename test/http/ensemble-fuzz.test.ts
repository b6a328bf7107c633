/**
 * Property test: random ensemble configs sent through the load API (explicit mode) either load or fail with a 400
 * `{"error": "failed to load 'simple_chain': ..."}`; the server never crashes, never hangs, and keeps serving. When a
 * random config does load, requests to it answer 200 or a Triton-shaped 4xx.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { httpRequest, MODEL_REPOSITORY, simpleInputs, TestResponse } from './helpers';

let server: InferenceServerApp;
let port: number;
let repo: string;

beforeAll(async () => {
  repo = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-fuzz-'));
  for (const model of ['simple', 'simple_chain']) fs.cpSync(path.join(MODEL_REPOSITORY, model), path.join(repo, model), { recursive: true });
  server = createInferenceServer({
    modelRepositories: [repo],
    modelControlMode: 'explicit',
    loadModels: ['simple'],
    httpPort: 0,
    host: '127.0.0.1',
  });
  port = (await server.start()).httpPort!;
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(repo, { recursive: true, force: true });
});

const post = (url: string, body: unknown): Promise<TestResponse> =>
  httpRequest(port, { method: 'POST', url, payload: JSON.stringify(body) });

function expectErrorBody(response: TestResponse, status: number[]): void {
  expect(status).toContain(response.statusCode);
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
}

const tensorName = fc.constantFrom('INPUT0', 'INPUT1', 'OUTPUT0', 'OUTPUT1', 'SUM', 'DIFFERENCE', '', 'x');
const map = fc.dictionary(tensorName, tensorName, { maxKeys: 3 });
const step = fc.record(
  {
    model_name: fc.constantFrom('simple', 'simple_chain', 'missing', ''),
    model_version: fc.constantFrom(-1, 1, 2, 3),
    input_map: map,
    output_map: map,
  },
  { requiredKeys: [] },
);
const tensor = fc.record({
  name: tensorName,
  data_type: fc.constantFrom('TYPE_INT32', 'TYPE_FP32', 'TYPE_STRING'),
  dims: fc.constantFrom([16], [-1], [8], [4, 4]),
});
const config = fc.record(
  {
    name: fc.constant('simple_chain'),
    platform: fc.constantFrom('ensemble', 'ensemble', 'onnxruntime_onnx'),
    max_batch_size: fc.integer({ min: 0, max: 16 }),
    input: fc.array(tensor, { maxLength: 3 }),
    output: fc.array(tensor, { maxLength: 3 }),
    ensemble_scheduling: fc.record({ step: fc.array(step, { maxLength: 4 }) }),
  },
  { requiredKeys: ['name', 'platform'] },
);

describe('random ensemble configs through the load API', () => {
  it('load or fail with a Triton-shaped 400; the server keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(config, async (random) => {
        const load = await post('/v2/repository/models/simple_chain/load', { parameters: { config: JSON.stringify(random) } });
        if (load.statusCode !== 200) {
          expectErrorBody(load, [400]);
          expect((load.json() as { error: string }).error).toMatch(/^failed to load 'simple_chain': /);
          return;
        }
        const infer = await post('/v2/models/simple_chain/infer', { inputs: simpleInputs() });
        if (infer.statusCode !== 200) expectErrorBody(infer, [400, 404, 503]);
      }),
      { numRuns: 60 },
    );
    const alive = await post('/v2/models/simple/infer', { inputs: simpleInputs() });
    expect(alive.statusCode).toBe(200);
  });
});
