/**
 * Ensembles serving through the facade on a real server: results equal running the steps by hand, branches and shared
 * tensors, nested ensembles, tensors that are views, statistics, timeouts passed down.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chainRequest, ints, RANGE, serverPool, writeEnsemble } from './ensemble-fixture';
import { copyRepository } from './repo-fixture';

describe('ensembles: serving', () => {
  const pool = serverPool();
  const serve = pool.serve;
  afterEach(() => pool.stopAll());

  it('serves simple_chain (none mode): outputs equal running simple twice by hand, only the requested ones', async () => {
    const { server, failed } = await serve({ modelRepositories: [copyRepository(['simple_chain', 'simple'])] });
    expect(failed).toEqual([]);
    const { service } = server;
    const request = chainRequest(5);
    const first = await service.infer({ ...request, model: 'simple', outputs: undefined });
    const second = await service.infer({
      model: 'simple',
      inputs: [
        { ...first.outputs[0], name: 'INPUT0' },
        { ...first.outputs[1], name: 'INPUT1' },
      ],
    });
    const response = await service.infer(chainRequest(5));
    expect(response).toMatchObject({ model: 'simple_chain', version: '1' });
    expect(response.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['OUTPUT0', 'INT32', [1, 16]],
      ['OUTPUT1', 'INT32', [1, 16]],
    ]);
    expect(ints(response.outputs[0].data)).toEqual(ints(second.outputs[0].data));
    expect(ints(response.outputs[1].data)).toEqual(ints(second.outputs[1].data));
    expect(ints(response.outputs[0].data)).toEqual(RANGE.map((i) => 2 * (i + 5)));

    const only = await service.infer(chainRequest(1, ['OUTPUT1']));
    expect(only.outputs.map((o) => o.name)).toEqual(['OUTPUT1']);
    expect(ints(only.outputs[0].data)).toEqual(RANGE.map((i) => 2 * (3 * i - 1)));

    const batched = await service.infer(chainRequest(0, undefined, 3));
    expect(batched.outputs[0].shape).toEqual([3, 16]);
    expect(ints(batched.outputs[0].data)).toEqual([0, 1, 2].flatMap(() => RANGE.map((i) => 2 * i)));
  });

  it('metadata, config and bad requests answer as for any model', async () => {
    const { server } = await serve({ modelRepositories: [copyRepository(['simple_chain', 'simple'])] });
    const { service } = server;
    expect(service.modelMetadata('simple_chain')).toEqual({
      name: 'simple_chain',
      versions: ['1'],
      platform: 'ensemble',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
    });
    const config = service.modelConfig('simple_chain');
    expect(config).toMatchObject({ name: 'simple_chain', platform: 'ensemble', max_batch_size: 8 });
    expect(config.ensemble_scheduling?.step?.map((s) => s.model_name)).toEqual(['simple', 'simple']);
    await expect(service.infer(chainRequest(0, ['SUM']))).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: "unexpected inference output 'SUM' for model 'simple_chain'",
    });
    await expect(service.infer(chainRequest(0, undefined, 9))).rejects.toMatchObject({ code: 'INVALID_ARG' });
  });

  it('concurrent requests each get their own results', async () => {
    const { server } = await serve({ modelRepositories: [copyRepository(['simple_chain', 'simple'])] });
    const offsets = Array.from({ length: 24 }, (_, i) => i * 7);
    const responses = await Promise.all(offsets.map((offset) => server.service.infer(chainRequest(offset))));
    responses.forEach((response, i) => {
      expect(ints(response.outputs[0].data)).toEqual(RANGE.map((k) => 2 * (k + offsets[i])));
      expect(ints(response.outputs[1].data)).toEqual(RANGE.map((k) => 2 * (3 * k - offsets[i])));
    });
  });

  it('runs independent steps as branches of a graph and shares one tensor between readers', async () => {
    const repo = copyRepository(['simple']);
    // Two branches read A and B; the last step joins them: Y = (A+B) + (A-B) = 2A, Z = (A+B) - (A-B) = 2B.
    writeEnsemble(
      repo,
      'diamond',
      `max_batch_size: 8
input [ { name: "A" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "B" data_type: TYPE_INT32 dims: [ 16 ] } ]
output [ { name: "Y" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "Z" data_type: TYPE_INT32 dims: [ 16 ] } ]
ensemble_scheduling { step [
  { model_name: "simple" model_version: -1 input_map { key: "INPUT0" value: "S" } input_map { key: "INPUT1" value: "D" }
    output_map { key: "OUTPUT0" value: "Y" } output_map { key: "OUTPUT1" value: "Z" } },
  { model_name: "simple" model_version: -1 input_map { key: "INPUT0" value: "A" } input_map { key: "INPUT1" value: "B" }
    output_map { key: "OUTPUT0" value: "S" } },
  { model_name: "simple" model_version: -1 input_map { key: "INPUT0" value: "A" } input_map { key: "INPUT1" value: "B" }
    output_map { key: "OUTPUT1" value: "D" } }
] }`,
    );
    const { server, failed } = await serve({ modelRepositories: [repo] });
    expect(failed).toEqual([]);
    const big = Array.from({ length: 8 * 16 }, (_, i) => i * 1000);
    const response = await server.service.infer({
      model: 'diamond',
      inputs: [
        { name: 'A', datatype: 'INT32', shape: [8, 16], data: Int32Array.from(big) },
        { name: 'B', datatype: 'INT32', shape: [8, 16], data: Int32Array.from(big.map((v) => v + 1)) },
      ],
    });
    expect(ints(response.outputs[0].data)).toEqual(big.map((v) => 2 * v));
    expect(ints(response.outputs[1].data)).toEqual(big.map((v) => 2 * (v + 1)));
  });

  it('an ensemble may compose another ensemble (explicit mode loads the whole chain)', async () => {
    const repo = copyRepository(['simple_chain', 'simple']);
    writeEnsemble(
      repo,
      'outer',
      `max_batch_size: 8
input [ { name: "A" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "B" data_type: TYPE_INT32 dims: [ 16 ] } ]
output [ { name: "Y" data_type: TYPE_INT32 dims: [ 16 ] } ]
ensemble_scheduling { step [ { model_name: "simple_chain" input_map { key: "INPUT0" value: "A" } input_map { key: "INPUT1" value: "B" }
  output_map { key: "OUTPUT0" value: "Y" } } ] }`,
    );
    const { server, failed } = await serve({ modelRepositories: [repo], modelControlMode: 'explicit', loadModels: ['outer'] });
    expect(failed).toEqual([]);
    expect((await server.service.repositoryIndex(true)).map((e) => e.name)).toEqual(['outer', 'simple', 'simple_chain']);
    const response = await server.service.infer({
      model: 'outer',
      inputs: [
        { name: 'A', datatype: 'INT32', shape: [1, 16], data: Int32Array.from(RANGE) },
        { name: 'B', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16) },
      ],
    });
    expect(ints(response.outputs[0].data)).toEqual(RANGE.map((i) => 2 * i));
    expect(server.service.modelStatistics('simple')[0].inference_stats.success.count).toBe(2);
  });

  it('a large tensor read by two steps reaches both intact (backends move large buffers to their workers)', async () => {
    const repo = copyRepository(['mlp']);
    writeEnsemble(
      repo,
      'mlp_twice',
      `max_batch_size: 64
input [ { name: "X" data_type: TYPE_FP32 dims: [ 784 ] } ]
output [ { name: "Y1" data_type: TYPE_FP32 dims: [ 10 ] }, { name: "Y2" data_type: TYPE_FP32 dims: [ 10 ] } ]
ensemble_scheduling { step [
  { model_name: "mlp" input_map { key: "INPUT0" value: "X" } output_map { key: "OUTPUT0" value: "Y1" } },
  { model_name: "mlp" input_map { key: "INPUT0" value: "X" } output_map { key: "OUTPUT0" value: "Y2" } }
] }`,
    );
    const { server, failed } = await serve({ modelRepositories: [repo] });
    expect(failed).toEqual([]);
    const batch = 32; // 32 x 784 FP32 = 100 KB: above the size the ONNX backend moves instead of copying
    const x = Float32Array.from({ length: batch * 784 }, (_, i) => ((i * 7919) % 1000) / 1000);
    const direct = await server.service.infer({
      model: 'mlp',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [batch, 784], data: x.slice() }],
    });
    const response = await server.service.infer({
      model: 'mlp_twice',
      inputs: [{ name: 'X', datatype: 'FP32', shape: [batch, 784], data: x }],
    });
    const expected = Array.from(direct.outputs[0].data as Float32Array);
    expect(response.outputs.map((o) => o.shape)).toEqual([
      [batch, 10],
      [batch, 10],
    ]);
    expect(Array.from(response.outputs[0].data as Float32Array)).toEqual(expected);
    expect(Array.from(response.outputs[1].data as Float32Array)).toEqual(expected);
  });

  it('inputs that are views into one request body (binary requests) reach their different steps intact', async () => {
    const repo = copyRepository(['mlp', 'simple']);
    writeEnsemble(
      repo,
      'split',
      `max_batch_size: 0
input [ { name: "X" data_type: TYPE_FP32 dims: [ 32, 784 ] }, { name: "N" data_type: TYPE_INT32 dims: [ 1, 16 ] } ]
output [ { name: "LOGITS" data_type: TYPE_FP32 dims: [ 32, 10 ] }, { name: "TWICE" data_type: TYPE_INT32 dims: [ 1, 16 ] } ]
ensemble_scheduling { step [
  { model_name: "mlp" input_map { key: "INPUT0" value: "X" } output_map { key: "OUTPUT0" value: "LOGITS" } },
  { model_name: "simple" input_map { key: "INPUT0" value: "N" } input_map { key: "INPUT1" value: "N" }
    output_map { key: "OUTPUT0" value: "TWICE" } }
] }`,
    );
    const { server, failed } = await serve({ modelRepositories: [repo] });
    expect(failed).toEqual([]);
    // As the binary codec decodes a body: both tensors view one buffer, the large one most of it.
    const body = new ArrayBuffer(32 * 784 * 4 + 16 * 4);
    const x = new Float32Array(body, 0, 32 * 784);
    x.forEach((_, i) => (x[i] = (i % 97) / 97));
    const n = new Int32Array(body, 32 * 784 * 4, 16);
    n.set(RANGE);
    const direct = await server.service.infer({
      model: 'mlp',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [32, 784], data: x.slice() }],
    });
    const response = await server.service.infer({
      model: 'split',
      inputs: [
        { name: 'X', datatype: 'FP32', shape: [32, 784], data: x },
        { name: 'N', datatype: 'INT32', shape: [1, 16], data: n },
      ],
    });
    expect(Array.from(response.outputs[0].data as Float32Array)).toEqual(Array.from(direct.outputs[0].data as Float32Array));
    expect(ints(response.outputs[1].data)).toEqual(RANGE.map((i) => 2 * i));
  });

  it('statistics: the ensemble counts its requests, the composing model counts every step', async () => {
    const { server } = await serve({ modelRepositories: [copyRepository(['simple_chain', 'simple'])] });
    const { service } = server;
    await Promise.all([0, 1, 2].map((offset) => service.infer(chainRequest(offset))));
    await expect(service.infer({ ...chainRequest(0), inputs: chainRequest(0).inputs.slice(0, 1) })).rejects.toMatchObject({
      code: 'INVALID_ARG',
    });
    const [ensemble] = service.modelStatistics('simple_chain');
    expect(ensemble).toMatchObject({ name: 'simple_chain', version: '1', inference_count: 3, execution_count: 0 });
    expect(ensemble.inference_stats.success.count).toBe(3);
    expect(ensemble.inference_stats.fail.count).toBe(1);
    const [simple] = service.modelStatistics('simple');
    expect(simple.inference_stats.success.count).toBe(6);
    expect(simple.inference_count).toBe(6);
    expect(simple.execution_count).toBeGreaterThanOrEqual(1);
  });

  it("passes the request's timeout down: a step waiting in the composing model's queue is rejected by it", async () => {
    const repo = copyRepository(['simple_chain', 'simple']);
    // A lone request would wait 60 s for a batch of 8; only the request's own 1 ms timeout can end it sooner.
    fs.appendFileSync(
      path.join(repo, 'simple', 'config.pbtxt'),
      `dynamic_batching { preferred_batch_size: [ 8 ] max_queue_delay_microseconds: 60000000
  default_queue_policy { timeout_action: REJECT allow_timeout_override: true } }\n`,
    );
    const { server, failed } = await serve({ modelRepositories: [repo] });
    expect(failed).toEqual([]);
    await expect(server.service.infer({ ...chainRequest(), parameters: { timeout: 1000 } })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: "in ensemble 'simple_chain', Request timeout expired",
      failureReason: 'REJECTED',
    });
    expect(server.service.modelStatistics('simple')[0].inference_stats.fail.count).toBe(1);
  });
});
