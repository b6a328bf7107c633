/**
 * Fills a parsed ModelConfig with the defaults Triton fills, so GET .../config shows what Triton
 * shows and the rest of the server can read fields without fallbacks, then validates it.
 *
 * The intended order when loading a model (the same order Triton uses):
 *   1. parseModelConfigText (or {} when config.pbtxt is absent and auto-complete is on)
 *   2. resolveBackendFields: name, backend, platform, default_model_filename
 *   3. read <version>/<default_model_filename>; autoCompleteOnnx when auto-complete is on
 *   4. normalizeModelConfig: defaults, then Triton's validation rules (validate.ts)
 */
import {
  ConfigError,
  ModelConfig,
  ModelDynamicBatching,
  ModelInstanceGroup,
  ModelQueuePolicy,
  NormalizedDynamicBatching,
  NormalizedInstanceGroup,
  NormalizedModelConfig,
  NormalizedModelInput,
  NormalizedModelOutput,
  NormalizedQueuePolicy,
} from './model-config';
import { validateModelConfig } from './validate';

export interface BackendFieldsOptions {
  /** Name of the model's directory in the repository; the config's name must equal it. */
  modelDirectoryName: string;
  /**
   * Entries of the model's lowest-numbered version directory. When given and the config names
   * neither backend nor platform, the backend is recognised from the model file, as Triton does.
   */
  versionDirectoryEntries?: readonly string[];
}

export interface NormalizeOptions extends BackendFieldsOptions {
  /**
   * GPU device ids usable by this server. When given, KIND_AUTO groups resolve to KIND_GPU or
   * KIND_CPU, KIND_GPU groups without gpus get all of them, and the default group goes to the GPUs,
   * as Triton does. When omitted, KIND_AUTO stays for the scheduler and the default group is CPU.
   */
  availableGpus?: readonly number[];
  /**
   * Instance count for a CPU group that does not give one. Default 1. (Triton uses 2 for the
   * onnxruntime and tensorflow backends on CPU; pass 2 to match it exactly.)
   */
  defaultCpuInstanceCount?: number;
}

/** Triton's sequence batcher idle default: one second. */
const SEQUENCE_IDLE_DEFAULT_MICROSECONDS = 1_000_000;

interface KnownBackend {
  backend: string;
  platform: string;
  fileName: string;
}

/** Backends Triton recognises from platform or file name, in Triton's order of precedence. */
const KNOWN_BACKENDS: readonly KnownBackend[] = [
  { backend: 'tensorflow', platform: 'tensorflow_savedmodel', fileName: 'model.savedmodel' },
  { backend: 'tensorflow', platform: 'tensorflow_graphdef', fileName: 'model.graphdef' },
  { backend: 'tensorrt', platform: 'tensorrt_plan', fileName: 'model.plan' },
  { backend: 'onnxruntime', platform: 'onnxruntime_onnx', fileName: 'model.onnx' },
  { backend: 'openvino', platform: '', fileName: 'model.xml' },
  { backend: 'pytorch', platform: 'pytorch_libtorch', fileName: 'model.pt' },
  { backend: 'python', platform: '', fileName: 'model.py' },
];

/**
 * Fills name (from the directory), backend, platform and default_model_filename the way Triton's
 * AutoCompleteBackendFields does, and refuses a name that differs from the directory name.
 * Returns a new object; the argument is not modified.
 */
export function resolveBackendFields(config: ModelConfig, options: BackendFieldsOptions): ModelConfig {
  const resolved: ModelConfig = structuredClone(config);
  if (!resolved.name) resolved.name = options.modelDirectoryName;
  if (resolved.name !== options.modelDirectoryName) {
    throw new ConfigError(
      `unexpected directory name '${options.modelDirectoryName}' for model '${resolved.name}', ` +
        'directory name must equal model name',
    );
  }

  const platform = resolved.platform ?? '';
  const fileName = resolved.default_model_filename ?? '';
  if (!resolved.backend) {
    const byConfig = KNOWN_BACKENDS.find(
      (known) => (platform !== '' && platform === known.platform) || (fileName !== '' && fileName === known.fileName),
    );
    const entries = options.versionDirectoryEntries;
    const byFile =
      !byConfig && platform === '' && fileName === '' && entries
        ? KNOWN_BACKENDS.find((known) => entries.includes(known.fileName))
        : undefined;
    const found = byConfig ?? byFile;
    if (found) {
      resolved.backend = found.backend;
      if (byFile && found.platform) resolved.platform = found.platform;
    }
  }

  const backend = resolved.backend ?? '';
  const candidates = KNOWN_BACKENDS.filter((known) => known.backend === backend);
  // TensorFlow has two platforms; its platform must then come from the config or the file name.
  const match =
    candidates.find((known) => known.platform === resolved.platform) ??
    candidates.find((known) => known.fileName === resolved.default_model_filename) ??
    (candidates.length === 1 ? candidates[0] : undefined);
  if (match) {
    if (!resolved.platform && match.platform) resolved.platform = match.platform;
    if (!resolved.default_model_filename) resolved.default_model_filename = match.fileName;
  }
  return resolved;
}

/**
 * Returns the config with Triton's defaults filled, after checking it against Triton's validation
 * rules. Throws ConfigError with Triton's wording, naming the model. The argument is not modified.
 */
export function normalizeModelConfig(config: ModelConfig, options: NormalizeOptions): NormalizedModelConfig {
  const resolved = resolveBackendFields(config, options);
  const name = resolved.name ?? options.modelDirectoryName;
  const maxBatchSize = resolved.max_batch_size ?? 0;

  const { dynamic_batching: dynamicBatching, ...rest } = resolved;
  const normalized: NormalizedModelConfig = {
    ...rest,
    name,
    platform: resolved.platform ?? '',
    backend: resolved.backend ?? '',
    version_policy: resolved.version_policy ?? { latest: { num_versions: 1 } },
    max_batch_size: maxBatchSize,
    // The casts hold once validateModelConfig below has checked every name and data_type.
    input: (resolved.input ?? []).map(
      (input) => ({ ...input, format: input.format ?? 'FORMAT_NONE', dims: input.dims ?? [] }) as NormalizedModelInput,
    ),
    output: (resolved.output ?? []).map((output) => ({ ...output, dims: output.dims ?? [] }) as NormalizedModelOutput),
    instance_group: [],
    default_model_filename: resolved.default_model_filename ?? '',
    parameters: resolved.parameters ?? {},
  };

  if (dynamicBatching) normalized.dynamic_batching = normalizeDynamicBatching(dynamicBatching, maxBatchSize);
  if (resolved.sequence_batching) {
    const sequence = { ...resolved.sequence_batching };
    if (!sequence.max_sequence_idle_microseconds) sequence.max_sequence_idle_microseconds = SEQUENCE_IDLE_DEFAULT_MICROSECONDS;
    if (sequence.oldest && !sequence.oldest.preferred_batch_size?.length) {
      sequence.oldest = { ...sequence.oldest, preferred_batch_size: maxBatchSize > 0 ? [maxBatchSize] : [] };
    }
    normalized.sequence_batching = sequence;
  }
  // Instance groups and pinned-memory settings do not apply to ensembles.
  if (resolved.ensemble_scheduling && (resolved.instance_group ?? []).length > 0) {
    throw new ConfigError(`instance group should not be specified for ensemble '${name}'`);
  }
  if (!resolved.ensemble_scheduling) {
    normalized.optimization = {
      ...resolved.optimization,
      input_pinned_memory: resolved.optimization?.input_pinned_memory ?? { enable: true },
      output_pinned_memory: resolved.optimization?.output_pinned_memory ?? { enable: true },
    };
    normalized.instance_group = normalizeInstanceGroups(resolved.instance_group ?? [], name, options);
  }

  validateModelConfig(normalized, options.availableGpus);
  return normalized;
}

function normalizeQueuePolicy(policy: ModelQueuePolicy | undefined): NormalizedQueuePolicy {
  return {
    timeout_action: policy?.timeout_action ?? 'REJECT',
    default_timeout_microseconds: policy?.default_timeout_microseconds ?? 0,
    allow_timeout_override: policy?.allow_timeout_override ?? false,
    max_queue_size: policy?.max_queue_size ?? 0,
  };
}

function normalizeDynamicBatching(batching: ModelDynamicBatching, maxBatchSize: number): NormalizedDynamicBatching {
  const priorityQueuePolicy: Record<string, NormalizedQueuePolicy> = {};
  for (const [level, policy] of Object.entries(batching.priority_queue_policy ?? {})) {
    Object.defineProperty(priorityQueuePolicy, level, {
      value: normalizeQueuePolicy(policy),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const preferred = batching.preferred_batch_size ?? [];
  return {
    ...batching,
    // Triton: with no preferred sizes, the max batch size is the preferred size.
    preferred_batch_size: preferred.length > 0 ? preferred : maxBatchSize > 0 ? [maxBatchSize] : [],
    max_queue_delay_microseconds: batching.max_queue_delay_microseconds ?? 0,
    preserve_ordering: batching.preserve_ordering ?? false,
    priority_levels: batching.priority_levels ?? 0,
    default_priority_level: batching.default_priority_level ?? 0,
    default_queue_policy: normalizeQueuePolicy(batching.default_queue_policy),
    priority_queue_policy: priorityQueuePolicy,
  };
}

/** Triton's NormalizeInstanceGroup, without GPU discovery: that comes in as availableGpus. */
function normalizeInstanceGroups(
  groups: readonly ModelInstanceGroup[],
  modelName: string,
  options: NormalizeOptions,
): NormalizedInstanceGroup[] {
  const gpus = options.availableGpus;
  const cpuCount = options.defaultCpuInstanceCount ?? 1;
  if (groups.length === 0) {
    // Triton names the implicit group after the model, without an index.
    const onGpu = gpus !== undefined && gpus.length > 0;
    return [
      {
        name: modelName,
        kind: onGpu ? 'KIND_GPU' : 'KIND_CPU',
        count: onGpu ? 1 : cpuCount,
        gpus: onGpu ? [...gpus] : [],
      },
    ];
  }
  return groups.map((group, index) => {
    let kind = group.kind ?? 'KIND_AUTO';
    const listed = group.gpus ?? [];
    if (kind === 'KIND_AUTO' && gpus !== undefined) {
      const allListedPresent = listed.every((id) => gpus.includes(id));
      kind = gpus.length > 0 && allListedPresent ? 'KIND_GPU' : 'KIND_CPU';
    }
    const count = group.count !== undefined && group.count >= 1 ? group.count : kind === 'KIND_CPU' ? cpuCount : 1;
    const groupGpus = kind === 'KIND_GPU' && listed.length === 0 && gpus !== undefined ? [...gpus] : [...listed];
    return { ...group, name: group.name || `${modelName}_${index}`, kind, count, gpus: groupGpus };
  });
}
