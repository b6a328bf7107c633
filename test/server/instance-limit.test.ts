/**
 * --max-instances-per-model: a config (here a load-API override) cannot start more instances than the server allows;
 * the load fails before any instance starts, and the model keeps serving what it served.
 */
import type { InferenceServerApp } from '../../server/app';
import { parseCli } from '../../server/cli';
import { SERVER_DEFAULTS } from '../../server/contract';
import { copyRepository, simpleConfigJson, simpleRequest, startServer } from './repo-fixture';

describe('instance_group count limit', () => {
  let server: InferenceServerApp;
  let limited: InferenceServerApp;
  beforeAll(async () => {
    const repo = copyRepository(['simple']);
    server = startServer({ modelRepositories: [repo], modelControlMode: 'explicit', loadModels: ['simple'] });
    limited = startServer({ modelRepositories: [repo], modelControlMode: 'explicit', maxInstancesPerModel: 2 });
    await Promise.all([server.start(), limited.start()]);
  });
  afterAll(() => Promise.all([server.stop(), limited.stop()]));

  const groups = (...counts: number[]) => simpleConfigJson({ instance_group: counts.map((count) => ({ kind: 'KIND_CPU', count })) });

  it('the default refuses 64 instances (the issue), naming the flag; the loaded version keeps serving', async () => {
    const error = await server.service.loadModel('simple', { config: groups(64) }).catch((e: Error) => e);
    expect((error as Error).message).toContain(
      `instance_group of model 'simple' asks for 64 instances; this server starts at most ${SERVER_DEFAULTS.maxInstancesPerModel} per model version (--max-instances-per-model)`,
    );
    const response = await server.service.infer(simpleRequest());
    expect(response.outputs).toHaveLength(2);
  });

  it('counts every group of the version together; at the limit it loads', async () => {
    const error = await limited.service.loadModel('simple', { config: groups(1, 2) }).catch((e: Error) => e);
    expect((error as Error).message).toContain("asks for 3 instances; this server starts at most 2");
    await limited.service.loadModel('simple', { config: groups(1, 1) });
    expect((await limited.service.infer(simpleRequest())).outputs).toHaveLength(2);
  });

  it('a KIND_GPU group with a gpus list counts count x GPUs (refused before any GPU is looked for)', async () => {
    const config = simpleConfigJson({ instance_group: [{ kind: 'KIND_GPU', count: 2, gpus: [0, 1] }] });
    const error = await limited.service.loadModel('simple', { config }).catch((e: Error) => e);
    expect((error as Error).message).toContain('asks for 4 instances');
  });

  it('--max-instances-per-model parses as a positive integer', () => {
    expect(parseCli(['--model-repository=/m']).maxInstancesPerModel).toBe(SERVER_DEFAULTS.maxInstancesPerModel);
    expect(parseCli(['--model-repository=/m', '--max-instances-per-model=128']).maxInstancesPerModel).toBe(128);
    expect(() => parseCli(['--model-repository=/m', '--max-instances-per-model=0'])).toThrow('expects an integer between 1 and');
  });
});
