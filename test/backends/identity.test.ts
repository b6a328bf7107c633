/**
 * Triton's identity backend (used by Triton's qa models, e.g. L0_parameters' ensemble and L0_trace): outputs copy the
 * inputs at the same position, batched or not, optionally after execute_delay_ms.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { outputs, post, Started, startServer } from '../python/helpers';

let server: Started;

function identityModel(repo: string, name: string, config: string): void {
  fs.mkdirSync(path.join(repo, name, '1'), { recursive: true });
  fs.writeFileSync(path.join(repo, name, 'config.pbtxt'), `backend: "identity"\n${config}`);
}

beforeAll(async () => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'identity-repo-'));
  identityModel(
    repo,
    'identity_pair',
    `max_batch_size: 8
input [ { name: "INPUT0", data_type: TYPE_FP32, dims: [ -1 ] }, { name: "INPUT1", data_type: TYPE_STRING, dims: [ 1 ] } ]
output [ { name: "OUTPUT0", data_type: TYPE_FP32, dims: [ -1 ] }, { name: "OUTPUT1", data_type: TYPE_STRING, dims: [ 1 ] } ]
dynamic_batching { max_queue_delay_microseconds: 1000 }`,
  );
  identityModel(
    repo,
    'identity_slow',
    `max_batch_size: 0
input [ { name: "INPUT0", data_type: TYPE_INT32, dims: [ 2 ] } ]
output [ { name: "OUTPUT0", data_type: TYPE_INT32, dims: [ 2 ] } ]
parameters [ { key: "execute_delay_ms", value: { string_value: "50" } } ]`,
  );
  identityModel(
    repo,
    'identity_more_outputs',
    `max_batch_size: 0
input [ { name: "INPUT0", data_type: TYPE_INT32, dims: [ 1 ] } ]
output [ { name: "OUTPUT0", data_type: TYPE_INT32, dims: [ 1 ] }, { name: "OUTPUT1", data_type: TYPE_INT32, dims: [ 1 ] } ]`,
  );
  server = await startServer({ modelRepositories: [repo], loadModels: ['identity_pair', 'identity_slow', 'identity_more_outputs'] });
}, 60_000);

afterAll(async () => {
  await server?.app.stop();
});

test('each output copies the input at its position, numbers and strings, in a batch', async () => {
  const response = await post(server.httpPort, '/v2/models/identity_pair/infer', {
    inputs: [
      { name: 'INPUT0', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
      { name: 'INPUT1', datatype: 'BYTES', shape: [2, 1], data: ['a', 'b'] },
    ],
  });
  expect(response.statusCode).toBe(200);
  const out = outputs(response);
  expect(out.OUTPUT0).toEqual({ name: 'OUTPUT0', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
  expect(out.OUTPUT1).toEqual({ name: 'OUTPUT1', datatype: 'BYTES', shape: [2, 1], data: ['a', 'b'] });
});

test('requests merged by the dynamic batcher each get their own rows back', async () => {
  const responses = await Promise.all(
    [1, 2, 3, 4].map((v) =>
      post(server.httpPort, '/v2/models/identity_pair/infer', {
        inputs: [
          { name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [v, v * 10] },
          { name: 'INPUT1', datatype: 'BYTES', shape: [1, 1], data: [`s${v}`] },
        ],
      }),
    ),
  );
  responses.forEach((response, i) => {
    expect(outputs(response).OUTPUT0.data).toEqual([i + 1, (i + 1) * 10]);
    expect(outputs(response).OUTPUT1.data).toEqual([`s${i + 1}`]);
  });
});

test('execute_delay_ms holds the execution: its compute time in the statistics is at least the delay', async () => {
  const response = await post(server.httpPort, '/v2/models/identity_slow/infer', {
    inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [2], data: [7, 8] }],
  });
  expect(outputs(response).OUTPUT0.data).toEqual([7, 8]);
  const stats = server.app.service.modelStatistics('identity_slow')[0].inference_stats;
  expect(Number(stats.compute_infer.ns)).toBeGreaterThanOrEqual(50e6 - 1e6);
});

test('a configuration with more outputs than inputs does not load, with the reason', async () => {
  expect(server.failedModels).toEqual(['identity_more_outputs']);
  const entry = (await server.app.service.repositoryIndex()).find((model) => model.name === 'identity_more_outputs');
  expect(entry?.reason).toMatch(/has 2 outputs but only 1 inputs to copy/);
});
