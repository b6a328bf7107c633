/**
 * Auto-complete of a model config from an ONNX model, following Triton's onnxruntime backend:
 * inputs, outputs and max_batch_size come from the model's graph when the config leaves them out.
 *
 * The ONNX file is read at the wire level: only the graph's input, output and initializer-name
 * records are decoded (with onnx-proto), never the nodes or the weights, so describing a large
 * model costs little more than reading its bytes.
 */
import * as protobuf from 'protobufjs';
import { onnx } from 'onnx-proto';
import { KserveDatatype, configToKserve, onnxElemTypeToConfig } from './datatypes';
import { ConfigError, DataType, ModelConfig, ModelInput, ModelOutput } from './model-config';

/** Triton's --backend-config=onnxruntime,default-max-batch-size default. */
export const DEFAULT_MAX_BATCH_SIZE = 4;

export interface AutoCompleteOptions {
  /** max_batch_size given to a model whose every input and output has a variable first dimension. */
  defaultMaxBatchSize?: number;
}

export interface OnnxTensorDescription {
  name: string;
  /** KServe protocol datatype, e.g. 'FP32', 'INT32', 'BYTES'. */
  datatype: KserveDatatype;
  /** Full model shape, batch dimension included; -1 for a dimension without a fixed size. */
  shape: number[];
}

export interface OnnxModelDescription {
  inputs: OnnxTensorDescription[];
  outputs: OnnxTensorDescription[];
}

interface OnnxTensorSignature {
  name: string;
  dataType: DataType;
  dims: number[];
}

interface OnnxSignature {
  /** Graph inputs that are not initializers: what ONNX Runtime asks callers for. */
  inputs: OnnxTensorSignature[];
  outputs: OnnxTensorSignature[];
  /** Graph inputs backed by an initializer, which a request may override. */
  overridableInputs: Set<string>;
}

/** Inputs and outputs of an ONNX model as the protocol names them (for metadata and checks). */
export function describeOnnx(onnxBytes: Uint8Array): OnnxModelDescription {
  const signature = readOnnxSignature(onnxBytes);
  const describe = (tensor: OnnxTensorSignature): OnnxTensorDescription => ({
    name: tensor.name,
    datatype: configToKserve(tensor.dataType),
    shape: [...tensor.dims],
  });
  return { inputs: signature.inputs.map(describe), outputs: signature.outputs.map(describe) };
}

/**
 * Returns the config completed from the ONNX model (the argument is not modified):
 * - platform onnxruntime_onnx and backend onnxruntime when absent;
 * - refuses config inputs/outputs the model does not have, in Triton's words;
 * - when the config leaves out some of the model's inputs or outputs: if every model input and
 *   output has a variable first dimension and max_batch_size is 0, max_batch_size becomes
 *   defaultMaxBatchSize and, above 1, dynamic batching is switched on; a non-zero max_batch_size
 *   for a model that cannot batch is refused. The missing tensors are then added with the model's
 *   dims, minus the batch dimension when max_batch_size > 0.
 */
export function autoCompleteOnnx(config: ModelConfig, onnxBytes: Uint8Array, options: AutoCompleteOptions = {}): ModelConfig {
  const signature = readOnnxSignature(onnxBytes);
  const completed: ModelConfig = structuredClone(config);
  if (!completed.platform) completed.platform = 'onnxruntime_onnx';
  if (!completed.backend) completed.backend = 'onnxruntime';

  checkNamesAllowed(completed.input ?? [], signature.inputs, 'input', (input) => signature.overridableInputs.has(input));
  checkNamesAllowed(completed.output ?? [], signature.outputs, 'output', () => false);

  // Inputs and outputs the server feeds or reads itself are not tensors for the config to list.
  const managedInputs = new Set<string>([
    ...(completed.batch_input ?? []).flatMap((batchInput) => batchInput.target_name ?? []),
    ...(completed.sequence_batching?.control_input ?? []).map((control) => control.name ?? ''),
    ...(completed.sequence_batching?.state ?? []).map((state) => state.input_name ?? ''),
  ]);
  const managedOutputs = new Set<string>((completed.sequence_batching?.state ?? []).map((state) => state.output_name ?? ''));
  const listedInputs = new Set((completed.input ?? []).map((input) => input.name));
  const listedOutputs = new Set((completed.output ?? []).map((output) => output.name));
  const missingInputs = signature.inputs.filter((input) => !listedInputs.has(input.name) && !managedInputs.has(input.name));
  const missingOutputs = signature.outputs.filter((output) => !listedOutputs.has(output.name) && !managedOutputs.has(output.name));
  // Triton's backend leaves a config that already lists its tensors alone, batch size included.
  if (missingInputs.length === 0 && missingOutputs.length === 0) return completed;

  completeMaxBatchSize(completed, signature, options.defaultMaxBatchSize ?? DEFAULT_MAX_BATCH_SIZE);
  const batching = (completed.max_batch_size ?? 0) > 0;
  if (missingInputs.length > 0) {
    completed.input = [...(completed.input ?? []), ...missingInputs.map((tensor) => configTensor(tensor, batching))];
  }
  if (missingOutputs.length > 0) {
    completed.output = [...(completed.output ?? []), ...missingOutputs.map((tensor) => configTensor(tensor, batching))];
  }
  return completed;
}

function checkNamesAllowed(
  listed: readonly (ModelInput | ModelOutput)[],
  inModel: readonly OnnxTensorSignature[],
  what: 'input' | 'output',
  alsoAllowed: (name: string) => boolean,
): void {
  const allowed = new Set(inModel.map((tensor) => tensor.name));
  for (const tensor of listed) {
    const name = tensor.name ?? '';
    if (allowed.has(name) || alsoAllowed(name)) continue;
    // Triton lists the allowed names from a std::set, so sorted.
    const names = [...allowed].sort().join(', ');
    throw new ConfigError(`unexpected inference ${what} '${name}', allowed ${what}s are: ${names}`);
  }
}

/** Triton's onnxruntime AutoCompleteMaxBatch. */
function completeMaxBatchSize(config: ModelConfig, signature: OnnxSignature, defaultMaxBatchSize: number): void {
  const tensors = [...signature.inputs, ...signature.outputs];
  const canBatch = tensors.every((tensor) => tensor.dims.length > 0 && tensor.dims[0] === -1);
  const maxBatchSize = config.max_batch_size ?? 0;
  if (!canBatch) {
    if (maxBatchSize !== 0) {
      throw new ConfigError(
        `autofill failed for model '${config.name ?? ''}': model does not support batching while non-zero ` +
          'max_batch_size is specified',
      );
    }
    return;
  }
  if (maxBatchSize === 0) config.max_batch_size = Math.max(defaultMaxBatchSize, 0);
  if ((config.max_batch_size ?? 0) > 1 && !config.dynamic_batching && !config.sequence_batching) {
    config.dynamic_batching = {};
  }
}

/** A config entry for a model tensor; a scalar (no dims left) becomes dims [1] as Triton writes it. */
function configTensor(tensor: OnnxTensorSignature, batching: boolean): ModelInput & ModelOutput {
  const dims = batching ? tensor.dims.slice(1) : [...tensor.dims];
  if (dims.length > 0) return { name: tensor.name, data_type: tensor.dataType, dims };
  // An empty reshape with batching means "scalar per batch item"; without batching it is invalid.
  return batching
    ? { name: tensor.name, data_type: tensor.dataType, dims: [1], reshape: { shape: [] } }
    : { name: tensor.name, data_type: tensor.dataType, dims: [1] };
}

// ---------------------------------------------------------------------------------------------
// Wire-level reading of the ONNX file

const MODEL_GRAPH_FIELD = 7;
const GRAPH_INITIALIZER_FIELD = 5;
const GRAPH_INPUT_FIELD = 11;
const GRAPH_OUTPUT_FIELD = 12;
const GRAPH_SPARSE_INITIALIZER_FIELD = 15;
const TENSOR_NAME_FIELD = 8;
const SPARSE_TENSOR_VALUES_FIELD = 1;
const LENGTH_DELIMITED = 2;

/** Calls visit(fieldNumber, bytes) for each length-delimited field of one message, skipping the rest. */
function forEachLengthDelimited(bytes: Uint8Array, visit: (field: number, value: Uint8Array) => void): void {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw new Error('invalid field number 0');
    if (wireType === LENGTH_DELIMITED) visit(field, reader.bytes());
    else reader.skipType(wireType);
  }
}

function tensorName(tensorBytes: Uint8Array): string {
  let name = '';
  forEachLengthDelimited(tensorBytes, (field, value) => {
    if (field === TENSOR_NAME_FIELD) name = Buffer.from(value).toString('utf8');
  });
  return name;
}

function readOnnxSignature(onnxBytes: Uint8Array): OnnxSignature {
  const graphInputs: onnx.ValueInfoProto[] = [];
  const graphOutputs: onnx.ValueInfoProto[] = [];
  const initializers = new Set<string>();
  let sawGraph = false;
  try {
    forEachLengthDelimited(onnxBytes, (field, graphBytes) => {
      if (field !== MODEL_GRAPH_FIELD) return;
      sawGraph = true;
      forEachLengthDelimited(graphBytes, (graphField, value) => {
        if (graphField === GRAPH_INPUT_FIELD) graphInputs.push(onnx.ValueInfoProto.decode(value));
        else if (graphField === GRAPH_OUTPUT_FIELD) graphOutputs.push(onnx.ValueInfoProto.decode(value));
        else if (graphField === GRAPH_INITIALIZER_FIELD) initializers.add(tensorName(value));
        else if (graphField === GRAPH_SPARSE_INITIALIZER_FIELD) {
          forEachLengthDelimited(value, (sparseField, values) => {
            if (sparseField === SPARSE_TENSOR_VALUES_FIELD) initializers.add(tensorName(values));
          });
        }
      });
    });
  } catch (error) {
    throw new ConfigError(`unable to parse ONNX model: ${(error as Error).message}`);
  }
  if (!sawGraph) throw new ConfigError('unable to parse ONNX model: the model has no graph');

  const overridableInputs = new Set(graphInputs.map((input) => input.name).filter((name) => initializers.has(name)));
  return {
    inputs: graphInputs.filter((input) => !initializers.has(input.name)).map((input) => tensorSignature(input, 'input')),
    outputs: graphOutputs.map((output) => tensorSignature(output, 'output')),
    overridableInputs,
  };
}

function tensorSignature(valueInfo: onnx.ValueInfoProto, what: 'input' | 'output'): OnnxTensorSignature {
  const plain = onnx.ValueInfoProto.toObject(valueInfo, { longs: Number }) as {
    name?: string;
    type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } };
  };
  const name = plain.name ?? '';
  const tensorType = plain.type?.tensorType;
  if (!tensorType) {
    throw new ConfigError(`model ${what} '${name}' is not a tensor; only tensor inputs and outputs are supported`);
  }
  const dataType = onnxElemTypeToConfig(tensorType.elemType ?? 0);
  if (!dataType) {
    throw new ConfigError(`model ${what} '${name}' has ONNX element type ${tensorType.elemType ?? 0}, which has no Triton data type`);
  }
  // A dimension without a fixed size (symbolic or unknown) is variable, as ONNX Runtime reports it.
  const dims = (tensorType.shape?.dim ?? []).map((dim) => (typeof dim.dimValue === 'number' ? dim.dimValue : -1));
  return { name, dataType, dims };
}
