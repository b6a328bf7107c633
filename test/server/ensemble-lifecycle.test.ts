/**
 * Ensemble lifecycle: dependency loading and ordering in every control mode, unload_dependents, composing models
 * missing, failing, unloaded or changed, circular ensembles.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chainRequest, ints, INT_IO, oneStep, RANGE, serverPool, writeEnsemble } from './ensemble-fixture';
import { copyRepository, simpleRequest } from './repo-fixture';

describe('ensembles: lifecycle', () => {
  const pool = serverPool();
  const serve = pool.serve;
  afterEach(() => pool.stopAll());

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
      message: "in ensemble 'simple_chain', Request for unknown model: 'simple' has no available versions",
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
