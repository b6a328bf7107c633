import * as os from 'node:os';
import type { InstanceContext } from '../backend';
import type { WorkerInit } from './messages';

/** Triton's optimization.graph.level → ORT's level (Triton: -1 basic, 1 extended, 2 disabled, anything else all). */
const GRAPH_LEVELS: Record<string, WorkerInit['graphOptimizationLevel']> = {
  '-1': 'basic',
  '1': 'extended',
  '2': 'disabled',
};

/** GPU accelerators this backend can name: Triton's two, plus WebGPU, which onnxruntime-node bundles. */
const GPU_ACCELERATORS = new Set(['tensorrt', 'cuda', 'webgpu']);

/**
 * Options of ORT's CUDA provider that Triton reads from model parameters (or the `cuda` accelerator's parameters).
 * onnxruntime-node (1.30) passes only the device id to the CUDA and TensorRT providers, so these are checked as
 * Triton checks them and reported as not applied rather than silently dropped.
 */
const CUDA_OPTION_CHECKS: Record<string, (value: string) => string | undefined> = {
  cudnn_conv_algo_search: (v) => (/^[0-2]$/.test(v) ? undefined : `unsupported cudnn_conv_algo_search value '${v}' is requested`),
  arena_extend_strategy: (v) => (/^[01]$/.test(v) ? undefined : `unsupported arena_extend_strategy value '${v}' is requested`),
  gpu_mem_limit: (v) => (/^[0-9]+$/.test(v) ? undefined : `failed to convert '${v}' to unsigned long long integral number`),
  do_copy_in_default_stream: (v) => (parseBool(v) === undefined ? `failed to convert '${v}' to a boolean` : undefined),
};

/** The session settings of one instance, and the settings that were given but cannot take effect here. */
export interface SessionPlan {
  readonly init: Omit<WorkerInit, 'modelPath' | 'channel'>;
  /** Settings accepted (valid) but without effect in onnxruntime-node, for a warning at load. */
  readonly notApplied: string[];
  /**
   * Parameter `execute_on_event_loop` (ours, not Triton's): run the session on the event loop instead of a worker
   * thread (inline-instance.ts). Opt-in only, for tiny models. @default false
   */
  readonly executeOnEventLoop: boolean;
}

/**
 * Session options as Triton's onnxruntime backend derives them from the model config: model `parameters` first, then
 * `--backend-config=onnxruntime,<key>=<value>` as the server-wide default. Throws Triton's messages for bad values.
 */
export function planSession(context: InstanceContext): SessionPlan {
  const config = context.config;
  const setting = (key: string): string | undefined => config.parameters?.[key]?.string_value ?? context.backendConfig[key];
  const notApplied: string[] = [];

  const executionMode = setting('execution_mode') ?? '0';
  if (executionMode !== '0' && executionMode !== '1') {
    throw new Error(`Invalid configuration value provided. Expected values for execution_mode are 0 or 1 but got ${executionMode} .`);
  }
  const sessionConfig: Record<string, string> = {};
  const initializers = setting('session.use_device_allocator_for_initializers');
  if (initializers !== undefined) sessionConfig['session.use_device_allocator_for_initializers'] = initializers;

  const cudaOptions: Record<string, string> = {};
  for (const [key, check] of Object.entries(CUDA_OPTION_CHECKS)) {
    const value = setting(key);
    if (value === undefined) continue;
    const problem = check(value);
    if (problem) throw new Error(problem);
    cudaOptions[key] = value;
  }

  const executionProviders = providers(context, cudaOptions);
  if (context.kind === 'KIND_GPU') {
    notApplied.push(...Object.keys(cudaOptions).map((key) => `${key}=${cudaOptions[key]}`));
  }
  return {
    init: {
      intraOpThreads: threadCount(setting('intra_op_thread_count'), 'intra_op_thread_count'),
      interOpThreads: threadCount(setting('inter_op_thread_count'), 'inter_op_thread_count'),
      executionMode: executionMode === '1' ? 'parallel' : 'sequential',
      graphOptimizationLevel: GRAPH_LEVELS[String(config.optimization?.graph?.level ?? 0)] ?? 'all',
      executionProviders,
      enableCpuMemArena: boolSetting(setting('enable_mem_arena'), 'enable_mem_arena'),
      enableMemPattern: boolSetting(setting('enable_mem_pattern'), 'enable_mem_pattern'),
      sessionConfig,
    },
    notApplied,
    executeOnEventLoop: boolSetting(setting('execute_on_event_loop'), 'execute_on_event_loop') ?? false,
  };
}

/**
 * KIND_GPU, as Triton's backend: TensorRT first when named, then CUDA on the instance's device, always (our
 * addition: naming only `webgpu` selects WebGPU without CUDA, and `webgpu` after CUDA otherwise). No CPU entry: a GPU
 * instance that cannot get its GPU fails to load with ORT's reason (KIND_AUTO falls back one level up). KIND_CPU: the
 * CPU provider; onnxruntime-node has no CPU accelerator (OpenVINO), so any named one is refused as Triton refuses an
 * accelerator it was built without.
 */
function providers(context: InstanceContext, cudaOptions: Record<string, string>): WorkerInit['executionProviders'] {
  const accelerators = context.config.optimization?.execution_accelerators;
  const gpuNames = (accelerators?.gpu_execution_accelerator ?? []).map((a) => a.name ?? '');
  const cpuNames = (accelerators?.cpu_execution_accelerator ?? []).map((a) => a.name ?? '');
  if (context.kind !== 'KIND_GPU') {
    if (cpuNames.length > 0) throw unknownAccelerator(cpuNames[0]);
    return ['cpu'];
  }
  const unknown = gpuNames.find((name) => !GPU_ACCELERATORS.has(name));
  if (unknown !== undefined) throw unknownAccelerator(unknown);
  for (const accelerator of accelerators?.gpu_execution_accelerator ?? []) {
    if (accelerator.name !== 'cuda') continue;
    for (const [key, value] of Object.entries(accelerator.parameters ?? {})) {
      const problem = CUDA_OPTION_CHECKS[key]?.(value);
      if (problem) throw new Error(problem);
      cudaOptions[key] = value;
    }
  }
  const deviceId = context.deviceId ?? 0;
  const onlyWebGpu = gpuNames.length > 0 && gpuNames.every((name) => name === 'webgpu');
  const list: WorkerInit['executionProviders'] = [];
  if (gpuNames.includes('tensorrt')) list.push({ name: 'tensorrt', deviceId });
  if (!onlyWebGpu) list.push({ name: 'cuda', deviceId });
  if (gpuNames.includes('webgpu')) list.push({ name: 'webgpu' });
  return list;
}

function unknownAccelerator(name: string): Error {
  return new Error(`unknown Execution Accelerator '${name}' is requested`);
}

/** Thread counts are always explicit (these machines have two cores and the event loop needs one): default 1. */
function threadCount(raw: string | undefined, key: string): number {
  if (raw === undefined) return 1;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    throw new Error(`${key} must be a non-negative integer, got '${raw}'`);
  }
  // ORT reads 0 as "one per core".
  return value === 0 ? os.availableParallelism() : value;
}

function boolSetting(raw: string | undefined, key: string): boolean | undefined {
  if (raw === undefined) return undefined;
  const value = parseBool(raw);
  if (value === undefined) throw new Error(`failed to convert '${raw}' to a boolean for '${key}'`);
  return value;
}

/** Triton's ParseBoolValue: true/false, on/off, 1/0, case-insensitive. */
function parseBool(raw: string): boolean | undefined {
  const lower = raw.trim().toLowerCase();
  if (lower === 'true' || lower === 'on' || lower === '1') return true;
  if (lower === 'false' || lower === 'off' || lower === '0') return false;
  return undefined;
}
