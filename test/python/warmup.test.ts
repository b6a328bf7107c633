/**
 * model_warmup with the Python backend: the probe model records every execute() call, so the test sees each sample
 * (zero, random, file data) run on each of two KIND_CPU instances, count times, before the model is READY. A sample
 * whose execute raises leaves the version UNAVAILABLE with "failed to run warmup sample" in the index while the other
 * models keep serving.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { get, outputs, post, scratchRepository, Started, startServer, stubPids, TEST_MODELS } from './helpers';

let server: Started;
let repository: string;

interface Call {
  instance: string;
  pid: number;
  rows: number;
  input0: number[][];
  input1: string[][];
}

beforeAll(async () => {
  repository = scratchRepository(['warmup_probe', { from: path.join(TEST_MODELS, 'warmup_probe'), name: 'warmup_broken' }, 'identity']);
  const broken = path.join(repository, 'warmup_broken');
  const config = path.join(broken, 'config.pbtxt');
  fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('name: "warmup_probe"', 'name: "warmup_broken"'));
  fs.writeFileSync(path.join(broken, 'fail_execute'), '');
  server = await startServer({ modelRepositories: [repository], loadModels: ['identity'] });
});

afterAll(async () => {
  await server?.app.stop();
  fs.rmSync(repository, { recursive: true, force: true });
});

const calls = (model: string): Call[] =>
  fs.readFileSync(path.join(repository, model, 'calls.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Call);

test('every instance runs every sample (count times) with zero, random and file data before the model is READY', async () => {
  const loaded = await post(server.httpPort, '/v2/repository/models/warmup_probe/load', {});
  expect(loaded.statusCode).toBe(200);
  const recorded = calls('warmup_probe');
  const instances = [...new Set(recorded.map((c) => c.instance))].sort();
  expect(instances).toEqual(['warmup_probe_0_0', 'warmup_probe_0_1']);
  expect(new Set(recorded.map((c) => c.pid)).size).toBe(2);
  for (const instance of instances) {
    const mine = recorded.filter((c) => c.instance === instance);
    // zeros (batch 1, count 2), random (batch 2), from_file (batch 3), in the config's order.
    expect(mine.map((c) => c.rows)).toEqual([1, 1, 2, 3]);
    expect(mine[0]).toMatchObject({ input0: [[0, 0, 0]], input1: [['', '']] });
    expect(mine[2].input1).toEqual([['', ''], ['', '']]); // BYTES random_data is empty strings, as in Triton
    expect(mine[2].input0[0]).toEqual(mine[2].input0[1]); // one random sample, repeated per request
    expect(mine[3]).toMatchObject({ input0: [[7, 8, 9], [7, 8, 9], [7, 8, 9]], input1: [['a', 'bc'], ['a', 'bc'], ['a', 'bc']] });
  }
  const stats = (await get(server.httpPort, '/v2/models/warmup_probe/stats')).json() as { model_stats: { inference_count: number; execution_count: number }[] };
  expect(stats.model_stats[0]).toMatchObject({ execution_count: 2 * 4, inference_count: 2 * (1 + 1 + 2 + 3) });

  const response = await post(server.httpPort, '/v2/models/warmup_probe/infer', {
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 3], data: [1, 2, 3] },
      { name: 'INPUT1', datatype: 'BYTES', shape: [1, 2], data: ['x', 'y'] },
    ],
  });
  expect(outputs(response).OUTPUT0.data).toEqual([1, 2, 3]);
});

test('a failing warmup sample fails the load with the reason in the index; the other models serve', async () => {
  const failed = await post(server.httpPort, '/v2/repository/models/warmup_broken/load', {});
  expect(failed.statusCode).toBe(400);
  expect((failed.json() as { error: string }).error).toContain("failed to run warmup sample 'zeros': ");
  const index = (await post(server.httpPort, '/v2/repository/index', {})).json() as Array<Record<string, string>>;
  const entry = index.find((e) => e.name === 'warmup_broken')!;
  expect(entry.state).toBe('UNAVAILABLE');
  expect(entry.reason).toMatch(/^failed to run warmup sample 'zeros': .*execute refused: fail_execute exists/s);
  expect((await get(server.httpPort, '/v2/models/warmup_broken/ready')).statusCode).toBe(400);
  expect((await get(server.httpPort, '/v2/models/identity/ready')).statusCode).toBe(200);
  expect((await get(server.httpPort, '/v2/models/warmup_probe/ready')).statusCode).toBe(200);
  // The failed version's stubs were stopped: identity's one and warmup_probe's two are left.
  expect(stubPids()).toHaveLength(3);
});
