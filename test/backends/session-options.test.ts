/**
 * ONNX Runtime session settings derived from the model config as Triton's onnxruntime backend derives them, and the
 * GPU paths that can be exercised on a machine without a GPU: KIND_AUTO falling back to the CPU (with the reason
 * logged), KIND_GPU on an explicit device failing with ORT's reason while the rest keeps serving.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { InstanceContext } from '../../server/backends/backend';
import { planSession } from '../../server/backends/onnxruntime/session-options';
import type { ModelConfig } from '../../server/config/model-config';
import type { InferenceServerApp } from '../../server/app';
import { copyRepository, simpleRequest, startServer, sum } from '../server/repo-fixture';

function context(config: ModelConfig, kind: 'KIND_CPU' | 'KIND_GPU' = 'KIND_CPU', backendConfig: Record<string, string> = {}): InstanceContext {
  return {
    modelName: 'm',
    version: 1,
    modelDir: '/nonexistent/m',
    versionDir: '/nonexistent/m/1',
    config,
    instanceName: 'm_0',
    kind,
    deviceId: kind === 'KIND_GPU' ? 3 : undefined,
    backendConfig,
  };
}

const params = (entries: Record<string, string>): ModelConfig['parameters'] =>
  Object.fromEntries(Object.entries(entries).map(([key, value]) => [key, { string_value: value }]));

describe('planSession', () => {
  it('defaults: CPU provider, one thread each, sequential, all optimizations, no spinning overrides', () => {
    const { init, notApplied } = planSession(context({}));
    expect(init).toMatchObject({
      executionProviders: ['cpu'],
      intraOpThreads: 1,
      interOpThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      sessionConfig: {},
    });
    expect(init.enableCpuMemArena).toBeUndefined();
    expect(init.enableMemPattern).toBeUndefined();
    expect(notApplied).toEqual([]);
  });

  it.each([
    [-1, 'basic'],
    [0, 'all'],
    [1, 'extended'],
    [2, 'disabled'],
  ])('optimization.graph.level %d gives %s, as Triton maps it', (level, expected) => {
    expect(planSession(context({ optimization: { graph: { level } } })).init.graphOptimizationLevel).toBe(expected);
  });

  it('model parameters win over --backend-config; memory and execution-mode parameters reach the session', () => {
    const { init } = planSession(
      context(
        {
          parameters: params({
            intra_op_thread_count: '2',
            execution_mode: '1',
            enable_mem_arena: 'off',
            enable_mem_pattern: 'TRUE',
            'session.use_device_allocator_for_initializers': '1',
          }),
        },
        'KIND_CPU',
        { intra_op_thread_count: '4', inter_op_thread_count: '3' },
      ),
    );
    expect(init).toMatchObject({
      intraOpThreads: 2,
      interOpThreads: 3,
      executionMode: 'parallel',
      enableCpuMemArena: false,
      enableMemPattern: true,
      sessionConfig: { 'session.use_device_allocator_for_initializers': '1' },
    });
  });

  it('KIND_GPU: CUDA on the instance device by default; TensorRT first when named; WebGPU alone when only it is named', () => {
    expect(planSession(context({}, 'KIND_GPU')).init.executionProviders).toEqual([{ name: 'cuda', deviceId: 3 }]);
    const trt = { optimization: { execution_accelerators: { gpu_execution_accelerator: [{ name: 'tensorrt' }] } } };
    expect(planSession(context(trt, 'KIND_GPU')).init.executionProviders).toEqual([
      { name: 'tensorrt', deviceId: 3 },
      { name: 'cuda', deviceId: 3 },
    ]);
    const webgpu = { optimization: { execution_accelerators: { gpu_execution_accelerator: [{ name: 'webgpu' }] } } };
    expect(planSession(context(webgpu, 'KIND_GPU')).init.executionProviders).toEqual([{ name: 'webgpu' }]);
    // GPU accelerators mean nothing to a CPU instance, as in Triton.
    expect(planSession(context(trt, 'KIND_CPU')).init.executionProviders).toEqual(['cpu']);
  });

  it('CUDA provider options are checked as Triton checks them, and reported as not applied on GPU instances', () => {
    const config = {
      parameters: params({ gpu_mem_limit: '1073741824', arena_extend_strategy: '1' }),
      optimization: {
        execution_accelerators: { gpu_execution_accelerator: [{ name: 'cuda', parameters: { cudnn_conv_algo_search: '1' } }] },
      },
    };
    expect(planSession(context(config, 'KIND_GPU')).notApplied.sort()).toEqual([
      'arena_extend_strategy=1',
      'cudnn_conv_algo_search=1',
      'gpu_mem_limit=1073741824',
    ]);
    expect(planSession(context(config, 'KIND_CPU')).notApplied).toEqual([]);
    expect(planSession(context({}, 'KIND_GPU', { gpu_mem_limit: '5' })).notApplied).toEqual(['gpu_mem_limit=5']);
  });

  it.each<[string, ModelConfig, string]>([
    ['unknown GPU accelerator', { optimization: { execution_accelerators: { gpu_execution_accelerator: [{ name: 'unknown_gpu' }] } } }, "unknown Execution Accelerator 'unknown_gpu' is requested"],
    ['CPU accelerator onnxruntime-node lacks', { optimization: { execution_accelerators: { cpu_execution_accelerator: [{ name: 'openvino' }] } } }, "unknown Execution Accelerator 'openvino' is requested"],
    ['execution_mode 2', { parameters: params({ execution_mode: '2' }) }, 'Expected values for execution_mode are 0 or 1 but got 2'],
    ['arena_extend_strategy 3', { parameters: params({ arena_extend_strategy: '3' }) }, "unsupported arena_extend_strategy value '3' is requested"],
    ['cudnn_conv_algo_search 7', { parameters: params({ cudnn_conv_algo_search: '7' }) }, "unsupported cudnn_conv_algo_search value '7' is requested"],
    ['gpu_mem_limit abc', { parameters: params({ gpu_mem_limit: 'abc' }) }, "failed to convert 'abc' to unsigned long long integral number"],
    ['a bad option among the cuda accelerator\'s parameters', { optimization: { execution_accelerators: { gpu_execution_accelerator: [{ name: 'cuda', parameters: { cudnn_conv_algo_search: '9' } }] } } }, "unsupported cudnn_conv_algo_search value '9' is requested"],
    ['enable_mem_arena maybe', { parameters: params({ enable_mem_arena: 'maybe' }) }, "failed to convert 'maybe' to a boolean for 'enable_mem_arena'"],
    ['intra_op_thread_count -1', { parameters: params({ intra_op_thread_count: '-1' }) }, "intra_op_thread_count must be a non-negative integer, got '-1'"],
  ])('refuses %s with a clear message', (_name, config, message) => {
    const kind = config.optimization?.execution_accelerators?.gpu_execution_accelerator ? 'KIND_GPU' : 'KIND_CPU';
    expect(() => planSession(context(config, kind))).toThrow(message);
  });
});

describe('session settings on a running server', () => {
  const servers: InferenceServerApp[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  function withConfigLines(repo: string, name: string, lines: string): void {
    fs.cpSync(path.join(repo, 'simple'), path.join(repo, name), { recursive: true });
    const config = fs.readFileSync(path.join(repo, 'simple', 'config.pbtxt'), 'utf8').replace('"simple"', `"${name}"`);
    fs.writeFileSync(path.join(repo, name, 'config.pbtxt'), `${config}\n${lines}\n`);
  }

  function capture(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    return { logger: pino({ level: 'warn' }, stream), lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
  }

  it('serves with memory, execution-mode and graph-level parameters applied by ORT', async () => {
    const repo = copyRepository(['simple']);
    withConfigLines(
      repo,
      'simple_tuned',
      [
        'optimization { graph { level: 2 } }',
        'parameters { key: "enable_mem_arena" value { string_value: "false" } }',
        'parameters { key: "enable_mem_pattern" value { string_value: "false" } }',
        'parameters { key: "execution_mode" value { string_value: "1" } }',
      ].join('\n'),
    );
    const server = startServer({ modelRepositories: [repo] });
    servers.push(server);
    expect((await server.start()).failedModels).toEqual([]);
    const response = await server.service.infer(simpleRequest('simple_tuned'));
    expect(Array.from(response.outputs[0].data as Int32Array)).toEqual(sum());
  });

  it('KIND_AUTO on a GPU whose provider cannot start runs on the CPU and logs why; KIND_GPU on device 0 fails with ORT\'s reason', async () => {
    const repo = copyRepository(['simple']);
    withConfigLines(repo, 'simple_auto', 'instance_group [ { count: 1, kind: KIND_AUTO } ]');
    withConfigLines(repo, 'simple_gpu0', 'instance_group [ { count: 1, kind: KIND_GPU, gpus: [ 0 ] } ]');
    withConfigLines(
      repo,
      'simple_bad_accel',
      'instance_group [ { count: 1, kind: KIND_GPU, gpus: [ 0 ] } ]\noptimization { execution_accelerators { gpu_execution_accelerator [ { name: "unknown_gpu" } ] } }',
    );
    const { logger, lines } = capture();
    // A GPU the inventory reports but whose CUDA provider cannot load (no provider library here, as on a node
    // without drivers): the fallback path Triton users rely on for KIND_AUTO.
    const gpus = {
      devices: async () => [{ deviceId: 0, uuid: 'GPU-test', memoryTotalBytes: 16e9, memoryUsedBytes: 0, utilization: 0 }],
    };
    const server = startServer({ modelRepositories: [repo], logger, gpus });
    servers.push(server);
    const { failedModels } = await server.start();
    expect(failedModels.sort()).toEqual(['simple_bad_accel', 'simple_gpu0']);

    const auto = await server.service.infer(simpleRequest('simple_auto'));
    expect(Array.from(auto.outputs[0].data as Int32Array)).toEqual(sum());
    const fallback = lines().find((line) => line.model === 'simple_auto');
    expect(fallback?.msg).toMatch(/KIND_AUTO: GPU execution provider did not initialise/);

    const index = await server.service.repositoryIndex();
    const gpu0 = index.find((entry) => entry.name === 'simple_gpu0')!;
    expect(gpu0.state).toBe('UNAVAILABLE');
    expect(gpu0.reason).toMatch(/cuda|CUDA|shared library/);
    const badAccel = index.find((entry) => entry.name === 'simple_bad_accel')!;
    expect(badAccel.reason).toMatch(/unknown Execution Accelerator 'unknown_gpu' is requested/);
    // The rest keeps serving.
    expect(Array.from((await server.service.infer(simpleRequest('simple'))).outputs[0].data as Int32Array)).toEqual(sum());
  });
});
