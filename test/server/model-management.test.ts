import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InferenceServerApp } from '../../server/app';
import { InferenceError } from '../../server/core/errors';
import { copyRepository, simpleConfigJson, simpleRequest, startServer, sum } from './repo-fixture';

const SIMPLE_CONFIG_WITH_ALL_VERSIONS = simpleConfigJson({ version_policy: { all: {} } });

describe('model management', () => {
  const servers: InferenceServerApp[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it('explicit mode loads only what is asked, then loads, reloads with a config override and unloads', async () => {
    const server = startServer({ modelRepositories: [copyRepository()], modelControlMode: 'explicit', loadModels: ['simple'] });
    servers.push(server);
    await server.start();
    const { service } = server;
    expect(service.isModelReady('simple')).toBe(true);
    expect(service.isModelReady('mlp')).toBe(false);
    expect(await service.repositoryIndex()).toEqual([
      { name: 'add_sub_autocomplete' },
      { name: 'mlp' },
      { name: 'simple', version: '2', state: 'READY', reason: '' },
      { name: 'string_upper' },
    ]);

    await service.loadModel('simple', { config: SIMPLE_CONFIG_WITH_ALL_VERSIONS });
    expect(service.modelMetadata('simple').versions).toEqual(['1', '2']);
    const v1 = await service.infer(simpleRequest('simple', '1'));
    expect(v1.version).toBe('1');
    expect(Array.from(v1.outputs[0].data as Int32Array)).toEqual(sum());

    await service.unloadModel('simple');
    expect(service.isModelReady('simple')).toBe(false);
    await expect(service.infer(simpleRequest())).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: "Request for unknown model: 'simple' has no available versions",
    });
    const index = await service.repositoryIndex();
    expect(index.filter((e) => e.name === 'simple')).toEqual([
      { name: 'simple', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
      { name: 'simple', version: '2', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
    expect(await service.repositoryIndex(true)).toEqual([]);
  });

  it('a load of a name that is in no repository fails without touching readiness or the index', async () => {
    const repo = copyRepository(['simple']);
    fs.cpSync(path.join(repo, 'simple', '2'), path.join(repo, 'simple', '02'), { recursive: true }); // not a version
    const server = startServer({ modelRepositories: [repo], modelControlMode: 'explicit', loadModels: ['*'] });
    servers.push(server);
    await server.start();
    await expect(server.service.loadModel('simpel')).rejects.toMatchObject({ code: 'INVALID_ARG' });
    expect(server.service.isReady()).toBe(true);
    expect((await server.service.repositoryIndex()).map((e) => e.name)).toEqual(['simple']);
    expect(server.service.modelMetadata('simple').versions).toEqual(['2']);
  });

  it('refuses load/unload in none mode with Triton\'s message', async () => {
    const server = startServer({ modelRepositories: [copyRepository(['simple'])] });
    servers.push(server);
    await server.start();
    await expect(server.service.loadModel('simple')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(server.service.unloadModel('simple')).rejects.toThrow(/not allowed/);
  });

  it('a corrupt model and a bad config are UNAVAILABLE with their reasons while the others serve', async () => {
    const repo = copyRepository(['simple', 'mlp', 'string_upper']);
    fs.writeFileSync(path.join(repo, 'mlp', '1', 'model.onnx'), 'this is not an onnx file');
    fs.appendFileSync(path.join(repo, 'string_upper', 'config.pbtxt'), '\nmax_batch: 3\n');
    const server = startServer({ modelRepositories: [repo] });
    servers.push(server);
    const { failedModels } = await server.start();
    expect(failedModels.sort()).toEqual(['mlp', 'string_upper']);
    const index = await server.service.repositoryIndex();
    const mlp = index.find((e) => e.name === 'mlp')!;
    expect(mlp.state).toBe('UNAVAILABLE');
    expect(mlp.reason).toMatch(/\S/);
    const upper = index.find((e) => e.name === 'string_upper')!;
    expect(upper.state).toBe('UNAVAILABLE');
    expect(upper.reason).toMatch(/config\.pbtxt:\d+: unknown field 'max_batch'/);
    expect(server.service.isReady()).toBe(false); // strict readiness
    const ok = await server.service.infer(simpleRequest());
    expect(Array.from(ok.outputs[0].data as Int32Array)).toEqual(sum());
  });

  it('a failed reload keeps the old version serving; a good reload swaps with no failed request', async () => {
    const server = startServer({ modelRepositories: [copyRepository(['simple'])], modelControlMode: 'explicit', loadModels: ['*'] });
    servers.push(server);
    await server.start();
    const { service } = server;
    await expect(service.loadModel('simple', { config: '{"max_batch_size": "eight"}' })).rejects.toBeInstanceOf(InferenceError);
    await expect(service.loadModel('simple', { config: 'not json' })).rejects.toMatchObject({ code: 'INVALID_ARG' });
    expect(service.isModelReady('simple')).toBe(true);

    let failures = 0;
    let done = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        await service.infer(simpleRequest('simple', undefined, done)).then(
          (r) => {
            expect(Array.from(r.outputs[0].data as Int32Array)).toEqual(sum(done));
            done += 1;
          },
          () => (failures += 1),
        );
      }
    })();
    await service.loadModel('simple', { config: SIMPLE_CONFIG_WITH_ALL_VERSIONS });
    await service.loadModel('simple');
    stop = true;
    await traffic;
    expect(failures).toBe(0);
    expect(done).toBeGreaterThan(0);
    expect(service.modelMetadata('simple').versions).toEqual(['2']);
  });

  it('poll mode sees models added, changed and removed', async () => {
    const repo = copyRepository(['simple']);
    const server = startServer({ modelRepositories: [repo], modelControlMode: 'poll', repositoryPollSecs: 3600 });
    servers.push(server);
    await server.start();
    const { service, manager } = server;
    await expect(service.loadModel('simple')).rejects.toThrow(/polling is enabled/);

    fs.cpSync(path.join(repo, 'simple'), path.join(repo, 'simple_copy'), { recursive: true });
    fs.writeFileSync(
      path.join(repo, 'simple_copy', 'config.pbtxt'),
      fs.readFileSync(path.join(repo, 'simple', 'config.pbtxt'), 'utf8').replace('"simple"', '"simple_copy"'),
    );
    await manager.poll();
    expect(service.isModelReady('simple_copy')).toBe(true);

    // A new version directory appears: the latest-1 policy moves to it.
    fs.cpSync(path.join(repo, 'simple', '2'), path.join(repo, 'simple', '3'), { recursive: true });
    await manager.poll();
    expect(service.modelMetadata('simple').versions).toEqual(['3']);

    fs.rmSync(path.join(repo, 'simple_copy'), { recursive: true });
    await manager.poll();
    expect(service.isModelReady('simple_copy')).toBe(false);
    expect((await service.repositoryIndex()).map((e) => e.name)).toEqual(['simple']);
  });

  it('unload terminates the instance workers', async () => {
    const server = startServer({ modelRepositories: [copyRepository(['simple', 'mlp'])], modelControlMode: 'explicit', loadModels: ['*'] });
    servers.push(server);
    await server.start();
    const workers = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    const loaded = workers();
    await server.service.unloadModel('mlp');
    expect(workers()).toBeLessThan(loaded);
    await server.service.unloadModel('simple');
    expect(workers()).toBeLessThan(loaded - 1);
  });

  it('a KIND_GPU model on a machine without a GPU is UNAVAILABLE with a clear reason; KIND_AUTO runs on the CPU', async () => {
    const repo = copyRepository(['simple']);
    for (const [name, kind] of [
      ['simple_gpu', 'KIND_GPU'],
      ['simple_auto', 'KIND_AUTO'],
    ]) {
      fs.cpSync(path.join(repo, 'simple'), path.join(repo, name), { recursive: true });
      const config = fs.readFileSync(path.join(repo, 'simple', 'config.pbtxt'), 'utf8').replace('"simple"', `"${name}"`);
      fs.writeFileSync(path.join(repo, name, 'config.pbtxt'), `${config}\ninstance_group [ { count: 1, kind: ${kind} } ]\n`);
    }
    const server = startServer({
      modelRepositories: [repo],
      gpus: { devices: async () => [] }, // this machine's real answer; set explicitly so a GPU host runs the same test
    });
    servers.push(server);
    const { failedModels } = await server.start();
    expect(failedModels).toEqual(['simple_gpu']);
    const gpu = (await server.service.repositoryIndex()).find((e) => e.name === 'simple_gpu')!;
    expect(gpu).toMatchObject({ state: 'UNAVAILABLE' });
    expect(gpu.reason).toMatch(/KIND_GPU but no usable GPU/);
    const auto = await server.service.infer(simpleRequest('simple_auto'));
    expect(Array.from(auto.outputs[0].data as Int32Array)).toEqual(sum());
  });
});
