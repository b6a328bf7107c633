import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { autoCompleteOnnx } from '../../config/autocomplete';
import type { ModelConfig } from '../../config/model-config';
import type { Backend, BackendInstance, InstanceContext } from '../backend';
import { OnnxRuntimeInstance } from './instance';
import type { WorkerInit } from './messages';

const GRAPH_LEVELS: Record<string, WorkerInit['graphOptimizationLevel']> = {
  '-1': 'basic',
  '0': 'all',
  '1': 'extended',
};

/**
 * Triton's onnxruntime backend on onnxruntime-node. Thread counts are always explicit: model parameters
 * `intra_op_thread_count` / `inter_op_thread_count` win, then `--backend-config=onnxruntime,intra_op_thread_count=N`,
 * then one thread per instance (these machines have two cores and the event loop needs one).
 */
export class OnnxRuntimeBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly defaultModelFilename = 'model.onnx';

  async autoCompleteConfig(config: ModelConfig, versionDir: string): Promise<ModelConfig> {
    const file = path.join(versionDir, config.default_model_filename || this.defaultModelFilename);
    const bytes = await fs.readFile(file);
    return autoCompleteOnnx(config, bytes);
  }

  async createInstance(context: InstanceContext): Promise<BackendInstance> {
    const modelFile = context.config.default_model_filename || this.defaultModelFilename;
    const init: WorkerInit = {
      modelPath: path.join(context.versionDir, modelFile),
      intraOpThreads: threadCount(context, 'intra_op_thread_count', 1),
      interOpThreads: threadCount(context, 'inter_op_thread_count', 1),
      executionProviders: executionProviders(context),
      graphOptimizationLevel: GRAPH_LEVELS[String(context.config.optimization?.graph?.level ?? 0)] ?? 'all',
    };
    return OnnxRuntimeInstance.start(context.instanceName, context.modelName, init);
  }
}

function threadCount(context: InstanceContext, key: string, fallback: number): number {
  const fromModel = context.config.parameters?.[key]?.string_value;
  const raw = fromModel ?? context.backendConfig[key];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${key} must be a non-negative integer, got '${raw}'`);
  }
  // ORT reads 0 as "one per core".
  return value === 0 ? os.availableParallelism() : value;
}

/**
 * KIND_GPU: the providers named in optimization.execution_accelerators.gpu_execution_accelerator, in that order
 * (Triton's names tensorrt and cuda, plus webgpu, which onnxruntime-node bundles), or CUDA when none is named, on the
 * instance's device. No CPU entry: a GPU instance that cannot get its GPU fails to load with ORT's reason instead of
 * silently running on the CPU (KIND_AUTO falls back one level up).
 */
function executionProviders(context: InstanceContext): WorkerInit['executionProviders'] {
  if (context.kind !== 'KIND_GPU') return ['cpu'];
  const deviceId = context.deviceId ?? 0;
  const accelerators = context.config.optimization?.execution_accelerators?.gpu_execution_accelerator ?? [];
  const named = accelerators
    .map((a) => a.name)
    .filter((n): n is string => n === 'tensorrt' || n === 'cuda' || n === 'webgpu');
  const ordered = named.length > 0 ? [...new Set(named)] : ['cuda'];
  return ordered.map((name) =>
    name === 'webgpu' ? { name } : { name, deviceId, ...providerOptions(context.backendConfig) },
  );
}

/** `--backend-config=onnxruntime,gpu_mem_limit=...,arena_extend_strategy=...` options ORT's CUDA provider takes. */
function providerOptions(backendConfig: Readonly<Record<string, string>>): Record<string, string> {
  const keys = ['gpu_mem_limit', 'arena_extend_strategy', 'cudnn_conv_algo_search', 'do_copy_in_default_stream'];
  return Object.fromEntries(keys.filter((key) => backendConfig[key] !== undefined).map((key) => [key, backendConfig[key]]));
}
