/**
 * Ensembles through the facade on a real server: results equal running the steps by hand, dependency loading and
 * ordering in every control mode, unload_dependents, composing models missing, failing or unloaded, statistics.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InferenceServerApp } from '../../server/app';
import type { InferRequest } from '../../server/core/types';
import { copyRepository, simpleRequest, startServer } from './repo-fixture';

const RANGE = Array.from({ length: 16 }, (_, i) => i);

function ints(data: unknown): number[] {
  return Array.from(data as Int32Array);
}

function chainRequest(offset = 0, outputs?: string[], batch = 1): InferRequest {
  const rows = (row: number[]) => Int32Array.from(Array.from({ length: batch }, () => row).flat());
  return {
    model: 'simple_chain',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [batch, 16], data: rows(RANGE.map((i) => i + offset)) },
      { name: 'INPUT1', datatype: 'INT32', shape: [batch, 16], data: rows(RANGE.map((i) => 3 * i - offset)) },
    ],
    outputs: outputs?.map((name) => ({ name })),
  };
}

/** An ensemble config in a repository folder, with an empty version directory as Triton requires. */
function writeEnsemble(repo: string, name: string, text: string): void {
  fs.mkdirSync(path.join(repo, name, '1'), { recursive: true });
  fs.writeFileSync(path.join(repo, name, 'config.pbtxt'), `name: "${name}"\nplatform: "ensemble"\n${text}`);
}

const INT_IO = `max_batch_size: 8
input [ { name: "A" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "B" data_type: TYPE_INT32 dims: [ 16 ] } ]
output [ { name: "Y" data_type: TYPE_INT32 dims: [ 16 ] } ]`;

const oneStep = (model: string, version = -1) => `ensemble_scheduling { step [ { model_name: "${model}" model_version: ${version}
  input_map { key: "INPUT0" value: "A" } input_map { key: "INPUT1" value: "B" } output_map { key: "OUTPUT0" value: "Y" } } ] }`;

describe('ensembles', () => {
  const servers: InferenceServerApp[] = [];
  const serve = async (...args: Parameters<typeof startServer>) => {
    const server = startServer(...args);
    servers.push(server);
    const failed = await server.start();
    return { server, failed: failed.failedModels };
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

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
      message: 'Request timeout expired',
      failureReason: 'REJECTED',
    });
    expect(server.service.modelStatistics('simple')[0].inference_stats.fail.count).toBe(1);
  });

  it('explicit mode: loading an ensemble loads its composing models; unload_dependents unloads them too', async () => {
    const { server, failed } = await serve({
      modelRepositories: [copyRepository(['simple_chain', 'simple', 'mlp'])],
      modelControlMode: 'explicit',
    });
    expect(failed).toEqual([]);
    const { service } = server;
    await service.loadModel('simple_chain');
    expect(await service.repositoryIndex(true)).toEqual([
      { name: 'simple', version: '2', state: 'READY', reason: '' },
      { name: 'simple_chain', version: '1', state: 'READY', reason: '' },
    ]);
    expect(ints((await service.infer(chainRequest(2))).outputs[0].data)).toEqual(RANGE.map((i) => 2 * (i + 2)));

    // Without unload_dependents the composing model keeps serving.
    await service.unloadModel('simple_chain');
    expect(service.isModelReady('simple')).toBe(true);
    await service.loadModel('simple_chain');
    await service.unloadModel('simple_chain', { unloadDependents: true });
    expect(service.isModelReady('simple_chain')).toBe(false);
    expect(service.isModelReady('simple')).toBe(false);
    expect(await service.repositoryIndex(true)).toEqual([]);
  });

  it('unload_dependents keeps a composing model that another loaded ensemble still uses', async () => {
    const repo = copyRepository(['simple_chain', 'simple']);
    fs.cpSync(path.join(repo, 'simple_chain'), path.join(repo, 'chain_two'), { recursive: true });
    const config = path.join(repo, 'chain_two', 'config.pbtxt');
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace('name: "simple_chain"', 'name: "chain_two"'));
    const { server, failed } = await serve({
      modelRepositories: [repo],
      modelControlMode: 'explicit',
      loadModels: ['simple_chain', 'chain_two'],
    });
    expect(failed).toEqual([]);
    const { service } = server;
    await service.unloadModel('simple_chain', { unloadDependents: true });
    expect(service.isModelReady('simple')).toBe(true);
    expect((await service.infer({ ...chainRequest(3), model: 'chain_two' })).outputs).toHaveLength(2);
    await service.unloadModel('chain_two', { unloadDependents: true });
    expect(service.isModelReady('simple')).toBe(false);
  });

  it('a composing model unloaded later: requests fail with its error, the ensemble stays loaded', async () => {
    const { server } = await serve({
      modelRepositories: [copyRepository(['simple_chain', 'simple'])],
      modelControlMode: 'explicit',
      loadModels: ['simple_chain'],
    });
    const { service } = server;
    await service.unloadModel('simple');
    expect(service.isModelReady('simple_chain')).toBe(true);
    await expect(service.infer(chainRequest())).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: "Request for unknown model: 'simple' has no available versions",
    });
    expect(service.modelStatistics('simple_chain')[0].inference_stats.fail.count).toBe(1);
    await service.loadModel('simple');
    expect((await service.infer(chainRequest())).outputs).toHaveLength(2);
  });

  it('an ensemble whose composing model is missing, invalid or lacks a version is UNAVAILABLE; the rest serves', async () => {
    const repo = copyRepository(['simple', 'mlp']);
    writeEnsemble(repo, 'uses_missing', `${INT_IO}\n${oneStep('nowhere')}`);
    fs.mkdirSync(path.join(repo, 'broken', '1'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'broken', 'config.pbtxt'), 'name: "broken"\nplatform: "onnxruntime_onnx"\n');
    writeEnsemble(repo, 'uses_broken', `${INT_IO}\n${oneStep('broken')}`);
    writeEnsemble(repo, 'uses_version_1', `${INT_IO}\n${oneStep('simple', 1)}`);
    writeEnsemble(repo, 'wrong_type', `${INT_IO.replace('name: "Y" data_type: TYPE_INT32', 'name: "Y" data_type: TYPE_FP32')}\n${oneStep('simple')}`);
    const { server, failed } = await serve({ modelRepositories: [repo] });
    expect(failed.sort()).toEqual(['broken', 'uses_broken', 'uses_missing', 'uses_version_1', 'wrong_type']);
    const { service } = server;
    expect(service.isModelReady('simple')).toBe(true);
    expect(service.isModelReady('mlp')).toBe(true);
    const reasons = Object.fromEntries((await service.repositoryIndex()).map((e) => [e.name, [e.state, e.reason]]));
    expect(reasons.uses_missing).toEqual([
      'UNAVAILABLE',
      'ensemble uses_missing contains models that are not available or ambiguous: nowhere',
    ]);
    expect(reasons.uses_broken[0]).toBe('UNAVAILABLE');
    expect(reasons.uses_broken[1]).toMatch(/^ensemble 'uses_broken' depends on 'broken' which is not valid\. Model 'broken' failed with error: /);
    expect(reasons.uses_version_1).toEqual([
      'UNAVAILABLE',
      "ensemble 'uses_version_1' depends on 'simple' whose required version 1 is not loaded.",
    ]);
    expect(reasons.wrong_type).toEqual([
      'UNAVAILABLE',
      'in ensemble wrong_type, ensemble tensor Y: inconsistent data type: TYPE_FP32 is inferred from model wrong_type while TYPE_INT32 is inferred from model simple',
    ]);
    await expect(service.infer({ ...chainRequest(), model: 'uses_missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('ensembles that use each other fail with a circular dependency instead of waiting forever', async () => {
    const repo = copyRepository(['simple']);
    const io = `max_batch_size: 8
input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] } ]`;
    const via = (model: string) => `ensemble_scheduling { step [ { model_name: "${model}"
  input_map { key: "INPUT0" value: "INPUT0" } input_map { key: "INPUT1" value: "INPUT1" } output_map { key: "OUTPUT0" value: "OUTPUT0" } } ] }`;
    writeEnsemble(repo, 'ping', `${io}\n${via('pong')}`);
    writeEnsemble(repo, 'pong', `${io}\n${via('ping')}`);
    writeEnsemble(repo, 'self', `${io}\n${via('self')}`);
    const { server, failed } = await serve({ modelRepositories: [repo] });
    expect(failed.sort()).toEqual(['ping', 'pong', 'self']);
    const reasons = (await server.service.repositoryIndex()).filter((e) => e.name !== 'simple').map((e) => e.reason);
    expect(reasons.some((r) => /^circular dependency between ensembles: (ping -> pong -> ping|pong -> ping -> pong)$/.test(r!))).toBe(true);
    expect(reasons).toContain('circular dependency between ensembles: self -> self');
    expect(server.service.isModelReady('simple')).toBe(true);
  });

  it('poll mode: a changed composing model reloads and the ensemble keeps serving', async () => {
    const repo = copyRepository(['simple_chain', 'simple']);
    const { server, failed } = await serve({ modelRepositories: [repo], modelControlMode: 'poll', repositoryPollSecs: 3600 });
    expect(failed).toEqual([]);
    const { service, manager } = server;
    fs.cpSync(path.join(repo, 'simple', '2'), path.join(repo, 'simple', '3'), { recursive: true });
    await manager.poll();
    expect(service.modelMetadata('simple').versions).toEqual(['3']);
    expect(service.isModelReady('simple_chain')).toBe(true);
    const response = await service.infer(chainRequest(4));
    expect(ints(response.outputs[1].data)).toEqual(RANGE.map((i) => 2 * (3 * i - 4)));
    expect(service.modelStatistics('simple', '3')[0].inference_stats.success.count).toBe(2);
  });

  it('plain simple keeps answering while an ensemble uses it', async () => {
    const { server } = await serve({ modelRepositories: [copyRepository(['simple_chain', 'simple'])] });
    const [chain, plain] = await Promise.all([server.service.infer(chainRequest(1)), server.service.infer(simpleRequest())]);
    expect(chain.model).toBe('simple_chain');
    expect(plain.model).toBe('simple');
  });
});
