/**
 * Triton's ModelConfig as TypeScript types, the schema loader and the configuration error.
 *
 * Values are plain objects in protobuf JSON form with the proto field names (snake_case), the
 * same shape Triton returns from GET /v2/models/{m}/config: enums as their names, 64-bit integers
 * as numbers, repeated fields as arrays and maps as objects keyed by strings. A field is absent
 * when the config did not set it; normalize.ts fills the defaults Triton fills.
 */
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

/** Raised for any problem in a model configuration: syntax, schema, or a Triton validation rule. */
export class ConfigError extends Error {
  /** File the problem is in, when it came from a file. */
  readonly fileName?: string;
  /** 1-based line, when the problem has a position. */
  readonly line?: number;

  constructor(message: string, position?: { fileName?: string; line?: number }) {
    super(message);
    this.name = 'ConfigError';
    this.fileName = position?.fileName;
    this.line = position?.line;
  }
}

// ---------------------------------------------------------------------------------------------
// Schema

const SCHEMA_FILE = path.join(__dirname, 'model_config.proto');
let schemaRoot: protobuf.Root | undefined;

/**
 * The protobufjs reflection root for model_config.proto, loaded once. The .proto is read at run
 * time next to this module: ts-jest runs from server/config, and the build copies it into dist.
 */
export function modelConfigSchema(): protobuf.Root {
  if (!schemaRoot) {
    const root = new protobuf.Root().loadSync(SCHEMA_FILE, { keepCase: true });
    root.resolveAll();
    schemaRoot = root;
  }
  return schemaRoot;
}

/** The reflection type of inference.ModelConfig. */
export function modelConfigType(): protobuf.Type {
  return modelConfigSchema().lookupType('inference.ModelConfig');
}

// ---------------------------------------------------------------------------------------------
// Enums

export type DataType =
  | 'TYPE_INVALID'
  | 'TYPE_BOOL'
  | 'TYPE_UINT8'
  | 'TYPE_UINT16'
  | 'TYPE_UINT32'
  | 'TYPE_UINT64'
  | 'TYPE_INT8'
  | 'TYPE_INT16'
  | 'TYPE_INT32'
  | 'TYPE_INT64'
  | 'TYPE_FP16'
  | 'TYPE_FP32'
  | 'TYPE_FP64'
  | 'TYPE_STRING'
  | 'TYPE_BF16';

export type InstanceGroupKind = 'KIND_AUTO' | 'KIND_GPU' | 'KIND_CPU' | 'KIND_MODEL';
export type InputFormat = 'FORMAT_NONE' | 'FORMAT_NHWC' | 'FORMAT_NCHW';
export type TimeoutAction = 'REJECT' | 'DELAY';
export type ModelPriority = 'PRIORITY_DEFAULT' | 'PRIORITY_MAX' | 'PRIORITY_MIN';
export type BatchInputKind =
  | 'BATCH_ELEMENT_COUNT'
  | 'BATCH_ACCUMULATED_ELEMENT_COUNT'
  | 'BATCH_ACCUMULATED_ELEMENT_COUNT_WITH_ZERO'
  | 'BATCH_MAX_ELEMENT_COUNT_AS_SHAPE'
  | 'BATCH_ITEM_SHAPE'
  | 'BATCH_ITEM_SHAPE_FLATTEN';
export type BatchOutputKind = 'BATCH_SCATTER_WITH_INPUT_SHAPE';
export type SequenceControlKind =
  | 'CONTROL_SEQUENCE_START'
  | 'CONTROL_SEQUENCE_READY'
  | 'CONTROL_SEQUENCE_END'
  | 'CONTROL_SEQUENCE_CORRID';

// ---------------------------------------------------------------------------------------------
// Messages

export interface ModelRateLimiter {
  resources?: { name?: string; global?: boolean; count?: number }[];
  priority?: number;
}

export interface ModelInstanceGroup {
  name?: string;
  kind?: InstanceGroupKind;
  count?: number;
  rate_limiter?: ModelRateLimiter;
  gpus?: number[];
  secondary_devices?: { kind?: 'KIND_NVDLA'; device_id?: number }[];
  profile?: string[];
  passive?: boolean;
  host_policy?: string;
}

export interface ModelTensorReshape {
  shape?: number[];
}

export interface ModelInput {
  name?: string;
  data_type?: DataType;
  format?: InputFormat;
  dims?: number[];
  reshape?: ModelTensorReshape;
  is_shape_tensor?: boolean;
  allow_ragged_batch?: boolean;
  optional?: boolean;
  is_non_linear_format_io?: boolean;
}

export interface ModelOutput {
  name?: string;
  data_type?: DataType;
  dims?: number[];
  reshape?: ModelTensorReshape;
  label_filename?: string;
  is_shape_tensor?: boolean;
  is_non_linear_format_io?: boolean;
}

export interface BatchInput {
  kind?: BatchInputKind;
  target_name?: string[];
  data_type?: DataType;
  source_input?: string[];
}

export interface BatchOutput {
  target_name?: string[];
  kind?: BatchOutputKind;
  source_input?: string[];
}

/** Exactly one of latest, all or specific is set (a protobuf oneof). */
export interface ModelVersionPolicy {
  latest?: { num_versions?: number };
  all?: Record<string, never>;
  specific?: { versions?: number[] };
}

export interface ExecutionAccelerator {
  name?: string;
  parameters?: Record<string, string>;
}

export interface CudaGraphShape {
  dim?: number[];
}

export interface ModelOptimizationPolicy {
  graph?: { level?: number };
  priority?: ModelPriority;
  cuda?: {
    graphs?: boolean;
    busy_wait_events?: boolean;
    graph_spec?: {
      batch_size?: number;
      input?: Record<string, CudaGraphShape>;
      graph_lower_bound?: { batch_size?: number; input?: Record<string, CudaGraphShape> };
    }[];
    output_copy_stream?: boolean;
  };
  execution_accelerators?: {
    gpu_execution_accelerator?: ExecutionAccelerator[];
    cpu_execution_accelerator?: ExecutionAccelerator[];
  };
  input_pinned_memory?: { enable?: boolean };
  output_pinned_memory?: { enable?: boolean };
  gather_kernel_buffer_threshold?: number;
  eager_batching?: boolean;
}

export interface ModelQueuePolicy {
  timeout_action?: TimeoutAction;
  default_timeout_microseconds?: number;
  allow_timeout_override?: boolean;
  max_queue_size?: number;
}

export interface ModelDynamicBatching {
  preferred_batch_size?: number[];
  max_queue_delay_microseconds?: number;
  preserve_ordering?: boolean;
  priority_levels?: number;
  default_priority_level?: number;
  default_queue_policy?: ModelQueuePolicy;
  /** Keyed by priority level, written as a decimal string (JSON object keys are strings). */
  priority_queue_policy?: Record<string, ModelQueuePolicy>;
}

export interface SequenceControl {
  kind?: SequenceControlKind;
  int32_false_true?: number[];
  fp32_false_true?: number[];
  bool_false_true?: boolean[];
  data_type?: DataType;
}

export interface SequenceInitialState {
  data_type?: DataType;
  dims?: number[];
  zero_data?: boolean;
  data_file?: string;
  name?: string;
}

export interface ModelSequenceBatching {
  direct?: { max_queue_delay_microseconds?: number; minimum_slot_utilization?: number };
  oldest?: {
    max_candidate_sequences?: number;
    preferred_batch_size?: number[];
    max_queue_delay_microseconds?: number;
    preserve_ordering?: boolean;
  };
  max_sequence_idle_microseconds?: number;
  control_input?: { name?: string; control?: SequenceControl[] }[];
  state?: {
    input_name?: string;
    output_name?: string;
    data_type?: DataType;
    dims?: number[];
    initial_state?: SequenceInitialState[];
    use_same_buffer_for_input_output?: boolean;
    use_growable_memory?: boolean;
  }[];
  iterative_sequence?: boolean;
}

export interface ModelEnsembling {
  step?: {
    model_name?: string;
    model_version?: number;
    input_map?: Record<string, string>;
    output_map?: Record<string, string>;
    model_namespace?: string;
  }[];
  /** Triton's backpressure: at most this many requests in flight at each step, across the ensemble's requests (0: no limit). */
  max_inflight_requests?: number;
}

export interface ModelParameter {
  string_value?: string;
}

export interface ModelWarmupInput {
  data_type?: DataType;
  dims?: number[];
  zero_data?: boolean;
  random_data?: boolean;
  input_data_file?: string;
}

export interface ModelWarmup {
  name?: string;
  batch_size?: number;
  inputs?: Record<string, ModelWarmupInput>;
  count?: number;
}

export interface ModelMetrics {
  metric_control?: {
    metric_identifier?: { family?: string };
    histogram_options?: { buckets?: number[] };
  }[];
}

/** inference.ModelConfig. At most one of dynamic_batching, sequence_batching, ensemble_scheduling. */
export interface ModelConfig {
  name?: string;
  platform?: string;
  backend?: string;
  runtime?: string;
  version_policy?: ModelVersionPolicy;
  max_batch_size?: number;
  input?: ModelInput[];
  output?: ModelOutput[];
  batch_input?: BatchInput[];
  batch_output?: BatchOutput[];
  optimization?: ModelOptimizationPolicy;
  dynamic_batching?: ModelDynamicBatching;
  sequence_batching?: ModelSequenceBatching;
  ensemble_scheduling?: ModelEnsembling;
  instance_group?: ModelInstanceGroup[];
  default_model_filename?: string;
  cc_model_filenames?: Record<string, string>;
  metric_tags?: Record<string, string>;
  parameters?: Record<string, ModelParameter>;
  model_warmup?: ModelWarmup[];
  model_operations?: { op_library_filename?: string[] };
  model_transaction_policy?: { decoupled?: boolean };
  model_repository_agents?: { agents?: { name?: string; parameters?: Record<string, string> }[] };
  response_cache?: { enable?: boolean };
  model_metrics?: ModelMetrics;
}

// ---------------------------------------------------------------------------------------------
// Normalized shapes: what normalizeModelConfig guarantees, so consumers need no fallbacks.

export type NormalizedInstanceGroup = ModelInstanceGroup &
  Required<Pick<ModelInstanceGroup, 'name' | 'kind' | 'count' | 'gpus'>>;

export type NormalizedModelInput = ModelInput & Required<Pick<ModelInput, 'name' | 'data_type' | 'format' | 'dims'>>;

export type NormalizedModelOutput = ModelOutput & Required<Pick<ModelOutput, 'name' | 'data_type' | 'dims'>>;

export type NormalizedQueuePolicy = Required<ModelQueuePolicy>;

export type NormalizedDynamicBatching = ModelDynamicBatching &
  Required<
    Pick<
      ModelDynamicBatching,
      | 'preferred_batch_size'
      | 'max_queue_delay_microseconds'
      | 'preserve_ordering'
      | 'priority_levels'
      | 'default_priority_level'
      | 'priority_queue_policy'
    >
  > & { default_queue_policy: NormalizedQueuePolicy };

export interface NormalizedModelConfig extends ModelConfig {
  name: string;
  platform: string;
  backend: string;
  version_policy: ModelVersionPolicy;
  max_batch_size: number;
  input: NormalizedModelInput[];
  output: NormalizedModelOutput[];
  instance_group: NormalizedInstanceGroup[];
  default_model_filename: string;
  parameters: Record<string, ModelParameter>;
  dynamic_batching?: NormalizedDynamicBatching;
}
