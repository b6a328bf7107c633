/**
 * Triton's model configuration validation rules (ValidateModelConfig, ValidateInstanceGroup,
 * ValidateModelIOConfig), applied to a normalized config. Messages keep Triton's wording so that
 * errors users search for read the same; most end with "for <model>".
 */
import {
  ConfigError,
  ModelInput,
  ModelOutput,
  ModelTensorReshape,
  NormalizedModelConfig,
} from './model-config';
import { ENSEMBLE_PLATFORM, validateEnsembleScheduling } from './ensemble-graph';

const TENSORRT_PLATFORM = 'tensorrt_plan';
/** Triton's default minimum CUDA compute capability, as its message prints it. */
const MIN_COMPUTE_CAPABILITY_TEXT = '6.000000';

/** Backend families Triton checks platform/backend pairs for; other backends accept any platform. */
const BACKEND_FAMILY: Readonly<Record<string, string>> = {
  tensorrt: 'tensorrt',
  tensorflow: 'tensorflow',
  onnxruntime: 'onnxruntime',
  pytorch: 'pytorch',
};
const PLATFORM_FAMILY: Readonly<Record<string, string>> = {
  tensorrt_plan: 'tensorrt',
  tensorflow_graphdef: 'tensorflow',
  tensorflow_savedmodel: 'tensorflow',
  onnxruntime_onnx: 'onnxruntime',
  pytorch_libtorch: 'pytorch',
};

function invalid(message: string): ConfigError {
  return new ConfigError(message);
}

function lookup(table: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/** Throws ConfigError for the first rule the config breaks. */
export function validateModelConfig(config: NormalizedModelConfig, availableGpus?: readonly number[]): void {
  validateModelLevel(config);
  validateDynamicBatching(config);
  if (!config.ensemble_scheduling) validateInstanceGroups(config, availableGpus);
  validateIo(config);
  validateBatchIo(config);
  if (config.ensemble_scheduling) validateEnsembleScheduling(config);
}

function validateModelLevel(config: NormalizedModelConfig): void {
  const name = config.name;
  if (!name) throw invalid("model configuration must specify 'name'");
  if (!config.backend) {
    if (config.platform !== ENSEMBLE_PLATFORM) throw invalid(`unexpected platform type '${config.platform}' for ${name}`);
  } else if (config.platform === ENSEMBLE_PLATFORM) {
    throw invalid(`Ensemble model '${name}' must have platform type '${config.platform}' and empty backend type`);
  }
  const backendFamily = lookup(BACKEND_FAMILY, config.backend);
  if (backendFamily !== undefined && backendFamily !== lookup(PLATFORM_FAMILY, config.platform)) {
    throw invalid(`unexpected 'platform' and 'backend' pair, got:${config.platform}, ${config.backend}`);
  }
  if (config.max_batch_size < 0) throw invalid(`'max_batch_size' must be non-negative value for ${name}`);

  if (config.ensemble_scheduling && config.platform !== ENSEMBLE_PLATFORM) {
    throw invalid(`ensemble scheduling cannot be set for model '${name}' whose platform is not ${ENSEMBLE_PLATFORM}`);
  }
  if (!config.ensemble_scheduling && config.platform === ENSEMBLE_PLATFORM) {
    throw invalid(`ensemble scheduling must be set for ensemble ${name} whose platform is ${ENSEMBLE_PLATFORM}`);
  }
  if (config.response_cache?.enable) {
    if (config.sequence_batching) {
      throw invalid(
        `Response Cache does not currently support model ${name} with sequence batching scheduler. ` +
          'Please disable the response cache.',
      );
    }
    if (config.model_transaction_policy?.decoupled) {
      throw invalid(
        `Response Cache does not currently support model ${name} with 'decoupled' transaction policy. ` +
          'Please disable the response cache.',
      );
    }
  }
}

function validateDynamicBatching(config: NormalizedModelConfig): void {
  const batching = config.dynamic_batching;
  if (!batching) return;
  const name = config.name;
  for (const size of batching.preferred_batch_size) {
    if (size <= 0) throw invalid(`dynamic batching preferred size must be positive for ${name}`);
    if (size > config.max_batch_size) {
      throw invalid(`dynamic batching preferred size must be <= max batch size for ${name}`);
    }
  }
  const levels = batching.priority_levels;
  if (levels !== 0) {
    if (batching.default_priority_level === 0 || batching.default_priority_level > levels) {
      throw invalid(`default priority level must be in range [1, ${levels}] for ${name}`);
    }
    for (const level of Object.keys(batching.priority_queue_policy)) {
      if (Number(level) === 0 || Number(level) > levels) {
        throw invalid(`priority queue policy must have priority level in range [1, ${levels}] for ${name}`);
      }
    }
  }
  if (batching.preserve_ordering) {
    if (levels > 1) throw invalid(`Only one priority level is allowed when 'preserve_ordering' is true for ${name}`);
    const policies = [batching.default_queue_policy, ...Object.values(batching.priority_queue_policy)];
    if (policies.some((policy) => policy.default_timeout_microseconds !== 0 && policy.timeout_action === 'DELAY')) {
      throw invalid(`Queue policy can not have DELAY as timeout action when 'preserve_ordering' is true for ${name}`);
    }
  }
}

function validateInstanceGroups(config: NormalizedModelConfig, availableGpus?: readonly number[]): void {
  if (config.instance_group.length === 0) {
    throw invalid(`must specify one or more 'instance group's for ${config.name}`);
  }
  for (const group of config.instance_group) {
    const prefix = `instance group ${group.name} of model ${config.name}`;
    if ((group.kind === 'KIND_CPU' || group.kind === 'KIND_MODEL') && group.gpus.length > 0) {
      throw invalid(`${prefix} has kind ${group.kind} but specifies one or more GPUs`);
    }
    if (group.kind === 'KIND_GPU' && availableGpus !== undefined) {
      if (group.gpus.length === 0) {
        throw invalid(
          availableGpus.length === 0
            ? `${prefix} has kind KIND_GPU but no GPUs are available`
            : `${prefix} has kind KIND_GPU but specifies no GPUs`,
        );
      }
      const unknown = group.gpus.find((id) => !availableGpus.includes(id));
      if (unknown !== undefined) {
        throw invalid(
          `${prefix} specifies invalid or unsupported gpu id ${unknown}. GPUs with at least the minimum required ` +
            `CUDA compute compatibility of ${MIN_COMPUTE_CAPABILITY_TEXT} are: ${availableGpus.join(', ')}`,
        );
      }
    }
    if (config.platform !== TENSORRT_PLATFORM && (group.profile ?? []).length > 0) {
      throw invalid(
        `${prefix} and platform ${config.platform} specifies profile field which is only supported for TensorRT models`,
      );
    }
  }
}

function validateIo(config: NormalizedModelConfig): void {
  const checkNamesUnique = (tensors: readonly { name?: string }[], what: string): void => {
    const seen = new Set<string>();
    for (const tensor of tensors) {
      if (tensor.name && seen.has(tensor.name)) {
        throw invalid(`${what} '${tensor.name}' is specified more than once for ${config.name}`);
      }
      if (tensor.name) seen.add(tensor.name);
    }
  };
  try {
    for (const input of config.input) validateInput(input, config.max_batch_size, config.platform);
    for (const output of config.output) validateOutput(output, config.max_batch_size, config.platform);
  } catch (error) {
    // Triton appends the model name to every IO message.
    if (error instanceof ConfigError) throw invalid(`${error.message} for ${config.name}`);
    throw error;
  }
  checkNamesUnique(config.input, 'model input');
  checkNamesUnique(config.output, 'model output');
}

function validateInput(input: ModelInput, maxBatchSize: number, platform: string): void {
  validateShape(input, maxBatchSize, 'model input ');
  if ((input.format === 'FORMAT_NHWC' || input.format === 'FORMAT_NCHW') && input.dims?.length !== 3) {
    throw invalid('model input NHWC/NCHW require 3 dims');
  }
  validateTensorRtOnlyFlags(input, platform, 'input');
}

function validateOutput(output: ModelOutput, maxBatchSize: number, platform: string): void {
  validateShape(output, maxBatchSize, 'model output ');
  validateTensorRtOnlyFlags(output, platform, 'output');
}

function validateTensorRtOnlyFlags(tensor: ModelInput | ModelOutput, platform: string, what: string): void {
  if (platform === TENSORRT_PLATFORM) {
    if (tensor.is_non_linear_format_io && tensor.dims?.length !== 3) {
      throw invalid(`Non-linear IO format ${what} requires 3 dims`);
    }
    return;
  }
  if (tensor.is_shape_tensor) throw invalid('shape tensors are only supported for TensorRT platform');
  if (tensor.is_non_linear_format_io) throw invalid('Non-linear IO format is only supported for the TensorRT platform');
}

/** Triton's ValidateIOShape. */
function validateShape(tensor: ModelInput | ModelOutput, maxBatchSize: number, prefix: string): void {
  if (!tensor.name) throw invalid(`${prefix}must specify 'name'`);
  const named = `${prefix}'${tensor.name}' `;
  if (!tensor.data_type || tensor.data_type === 'TYPE_INVALID') throw invalid(`${named}must specify 'data_type'`);
  const dims = tensor.dims ?? [];
  if (dims.length === 0) throw invalid(`${named}must specify 'dims'`);
  const reshape: ModelTensorReshape | undefined = tensor.reshape;
  const reshapeShape = reshape?.shape ?? [];
  if (reshape && reshapeShape.length === 0 && maxBatchSize === 0) {
    throw invalid(`${named}cannot have empty reshape for non-batching model as scalar tensors are not supported`);
  }
  if (dims.some((dim) => dim < 1 && dim !== -1)) {
    throw invalid(`${named}dimension must be integer >= 1, or -1 to indicate a variable-size dimension`);
  }
  if (!reshape) return;
  if (reshapeShape.some((dim) => dim < 1 && dim !== -1)) {
    throw invalid(`${named}reshape dimensions must be integer >= 1, or -1 to indicate a variable-size dimension`);
  }
  const dimsSize = elementCount(dims);
  const reshapeSize = elementCount(reshapeShape);
  // An empty reshape (a scalar in the model) pairs with dims of one element.
  if (dimsSize !== reshapeSize && (reshapeSize !== 0 || dimsSize !== 1)) {
    throw invalid(`${named}has different size for dims and reshape`);
  }
  if (dimsSize === -1) {
    // With variable dimensions, each run of fixed dimensions between them must hold as many elements.
    const dimsRuns = fixedRunSizes(dims);
    const reshapeRuns = fixedRunSizes(reshapeShape);
    if (dimsRuns.length !== reshapeRuns.length) {
      throw invalid(`${named}has different number of variable-size dimensions for dims and reshape`);
    }
    if (dimsRuns.some((size, index) => size !== reshapeRuns[index])) {
      throw invalid(`${named}has different size for dims and reshape`);
    }
  }
}

/** Triton's GetElementCount: -1 when any dimension is variable, 0 for an empty shape. */
function elementCount(shape: readonly number[]): number {
  if (shape.includes(-1)) return -1;
  return shape.length === 0 ? 0 : shape.reduce((product, dim) => product * dim, 1);
}

function fixedRunSizes(shape: readonly number[]): number[] {
  const runs: number[] = [];
  let current = 1;
  for (const dim of shape) {
    if (dim === -1) {
      runs.push(current);
      current = 1;
    } else {
      current *= dim;
    }
  }
  runs.push(current);
  return runs;
}

/** Triton's ValidateBatchIO. */
function validateBatchIo(config: NormalizedModelConfig): void {
  const inputNames = new Set(config.input.map((input) => input.name));
  const outputNames = new Set(config.output.map((output) => output.name));
  const suffix = ` for ${config.name}`;
  for (const batchInput of config.batch_input ?? []) {
    const sources = batchInput.source_input ?? [];
    if (sources.length !== 1) {
      throw invalid(`batch input kind '${batchInput.kind ?? 'BATCH_ELEMENT_COUNT'}' expects 1 source input, got ${sources.length}${suffix}`);
    }
    if (batchInput.data_type !== 'TYPE_INT32' && batchInput.data_type !== 'TYPE_FP32') {
      throw invalid(`batch input data type must be TYPE_INT32 or TYPE_FP32${suffix}`);
    }
    const unknown = sources.find((source) => !inputNames.has(source));
    if (unknown !== undefined) throw invalid(`unknown source input name '${unknown}'${suffix}`);
  }
  for (const batchOutput of config.batch_output ?? []) {
    const sources = batchOutput.source_input ?? [];
    if (sources.length !== 1) {
      throw invalid(
        `batch output kind '${batchOutput.kind ?? 'BATCH_SCATTER_WITH_INPUT_SHAPE'}' expects 1 source input, got ${sources.length}${suffix}`,
      );
    }
    const unknown = sources.find((source) => !inputNames.has(source));
    if (unknown !== undefined) throw invalid(`unknown source input name '${unknown}'${suffix}`);
    const targets = new Set<string>();
    for (const target of batchOutput.target_name ?? []) {
      if (!outputNames.has(target)) throw invalid(`unknown target output name '${target}'${suffix}`);
      if (targets.has(target)) throw invalid(`target output name '${target}' can only be specified once${suffix}`);
      targets.add(target);
    }
  }
}
