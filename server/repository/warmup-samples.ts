/**
 * Triton's model_warmup: turns each config entry into the tensors to run on every instance before the version is
 * READY. Everything that can be checked without running the model is checked here, before any instance starts, so a
 * bad entry fails the load with a message naming the sample (and no instance is spent on it).
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { configToKserve } from '../config/datatypes';
import { WARMUP_DATA_FOLDER } from '../config/model-paths';
import type { ModelWarmup, ModelWarmupInput, NormalizedModelConfig, NormalizedModelInput } from '../config/model-config';
import { DATATYPES, DataType, elementCount } from '../core/datatypes';
import { Errors } from '../core/errors';
import { BytesData, deserializeBytesElements, Tensor, typedArrayFromBytes } from '../core/tensor';

/** Triton's kWarmupDataFolder: input_data_file names a file in `<model>/warmup/`. */
export { WARMUP_DATA_FOLDER };

export interface WarmupSample {
  readonly name: string;
  /** How many times the sample runs on each instance (Triton: count, 0 meaning once). */
  readonly count: number;
  /** Requests in the sample (Triton's batch_size): merged into one batch, or run one by one without batching. */
  readonly batchSize: number;
  /** Rows in each execution: batch_size for a batching model, else 1 (then batch_size executions per iteration). */
  readonly rowsPerExecution: number;
  /** Fresh tensors for each execution of one iteration (backends may take ownership of the buffers they get). */
  executions(): Tensor[][];
}

/** One input of a sample: its data for a batch of one, in the protocol's datatype. */
interface SampleInput {
  readonly name: string;
  readonly datatype: DataType;
  readonly dims: number[];
  /** Raw little-endian bytes of one request's data; for BYTES the elements. */
  readonly data: Uint8Array | Uint8Array[];
}

/** Validate every model_warmup entry and prepare its data; batch_size 0 entries are skipped, as in Triton. */
export async function prepareWarmupSamples(config: NormalizedModelConfig, modelDir: string): Promise<WarmupSample[]> {
  const samples: WarmupSample[] = [];
  for (const [index, entry] of (config.model_warmup ?? []).entries()) {
    const name = entry.name ?? `#${index}`;
    const batchSize = entry.batch_size ?? 0;
    if (batchSize === 0) continue;
    if (!Number.isInteger(batchSize) || batchSize < 0) throw Errors.warmupInvalid(name, `batch_size must be a non-negative integer, got ${batchSize}`);
    if (config.max_batch_size > 0 && batchSize > config.max_batch_size) {
      throw Errors.warmupInvalid(name, `batch_size ${batchSize} exceeds max_batch_size ${config.max_batch_size} of model '${config.name}'`);
    }
    const inputs = await prepareInputs(config, modelDir, name, entry);
    samples.push(sample(name, entry, batchSize, config.max_batch_size > 0, inputs));
  }
  return samples;
}

/** Skipped entries are logged by the caller: those with batch_size 0 (Triton skips them too). */
export function skippedWarmupSamples(config: NormalizedModelConfig): string[] {
  return (config.model_warmup ?? []).flatMap((entry, index) => ((entry.batch_size ?? 0) === 0 ? [entry.name ?? `#${index}`] : []));
}

async function prepareInputs(config: NormalizedModelConfig, modelDir: string, sample: string, entry: ModelWarmup): Promise<SampleInput[]> {
  const given = entry.inputs ?? {};
  const byName = new Map([...config.input, ...sequenceInputs(config)].map((input) => [input.name, input]));
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) {
      throw Errors.warmupInvalid(sample, `unexpected inference input '${name}' for model '${config.name}', allowed inputs are: ${[...byName.keys()].join(', ')}`);
    }
  }
  const missing = config.input.filter((input) => !input.optional && !(input.name in given)).map((input) => input.name);
  if (missing.length > 0) throw Errors.warmupInvalid(sample, `missing required input(s) ${missing.map((m) => `'${m}'`).join(', ')}`);
  const inputs: SampleInput[] = [];
  for (const [name, setting] of Object.entries(given)) {
    inputs.push(await prepareInput(modelDir, sample, byName.get(name)!, setting, config.name));
  }
  return inputs;
}

async function prepareInput(
  modelDir: string,
  sample: string,
  input: NormalizedModelInput,
  setting: ModelWarmupInput,
  model: string,
): Promise<SampleInput> {
  const datatype = configToKserve(input.data_type) as DataType;
  if (setting.data_type === undefined || setting.data_type === 'TYPE_INVALID') {
    throw Errors.warmupInvalid(sample, `input '${input.name}' must specify 'data_type'`);
  }
  if (setting.data_type !== input.data_type) {
    throw Errors.warmupInvalid(sample, `input '${input.name}' data-type is '${setting.data_type}', but model '${model}' expects '${input.data_type}'`);
  }
  const dims = setting.dims ?? [];
  if (dims.some((dim) => dim === -1)) {
    throw Errors.warmupInvalid(sample, `warmup setting expects all variable-size dimensions are specified for input '${input.name}'`);
  }
  const fits = dims.length === input.dims.length && dims.every((dim, i) => Number.isInteger(dim) && dim >= 0 && (input.dims[i] === -1 || input.dims[i] === dim));
  if (!fits) {
    throw Errors.warmupInvalid(sample, `unexpected shape for input '${input.name}' for model '${model}'. Expected [${input.dims.join(',')}], got [${dims.join(',')}]`);
  }
  const sources = (['zero_data', 'random_data', 'input_data_file'] as const).filter((key) => setting[key] !== undefined && setting[key] !== false);
  if (sources.length !== 1) {
    throw Errors.warmupInvalid(
      sample,
      sources.length === 0
        ? `warmup setting expects input '${input.name}' to have input_data_type set`
        : `input '${input.name}' sets ${sources.join(' and ')}; set exactly one of zero_data, random_data, input_data_file`,
    );
  }
  const count = elementCount(dims);
  const info = DATATYPES[datatype];
  let data: Uint8Array | Uint8Array[];
  if (sources[0] === 'input_data_file') {
    data = await readDataFile(modelDir, sample, input.name, setting.input_data_file!, datatype, count);
  } else if (info.byteSize === 0) {
    // BYTES: Triton sends empty strings (zero lengths) for zero_data and random_data alike.
    data = Array.from({ length: count }, () => new Uint8Array(0));
  } else {
    data = new Uint8Array(count * info.byteSize);
    if (sources[0] === 'random_data') fillRandom(data);
  }
  return { name: input.name, datatype, dims, data };
}

/** input_data_file: raw little-endian values, or for BYTES 4-byte length-prefixed elements; a larger file is cut, as Triton does. */
async function readDataFile(
  modelDir: string,
  sample: string,
  input: string,
  file: string,
  datatype: DataType,
  count: number,
): Promise<Uint8Array | Uint8Array[]> {
  const folder = path.resolve(modelDir, WARMUP_DATA_FOLDER);
  const resolved = path.resolve(folder, file);
  if (file === '' || !resolved.startsWith(folder + path.sep)) {
    throw Errors.warmupInvalid(sample, `input_data_file '${file}' of input '${input}' must name a file inside the model's ${WARMUP_DATA_FOLDER}/ folder`);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(resolved));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw Errors.warmupInvalid(sample, `cannot read input_data_file '${WARMUP_DATA_FOLDER}/${file}' of input '${input}': ${reason}`);
  }
  const byteSize = DATATYPES[datatype].byteSize;
  if (byteSize > 0) {
    if (bytes.byteLength < count * byteSize) throw Errors.warmupFileTooSmall(sample, file, count * byteSize, bytes.byteLength);
    return bytes.subarray(0, count * byteSize);
  }
  const elements = deserializeBytesElements(bytes);
  if (!elements) {
    throw Errors.warmupInvalid(sample, `input_data_file '${file}' of BYTES input '${input}' is not 4-byte length-prefixed elements`);
  }
  if (elements.length !== count) {
    throw Errors.warmupInvalid(sample, `input_data_file '${file}' of input '${input}' holds ${elements.length} BYTES elements, dims imply ${count}`);
  }
  return elements;
}

/**
 * A sequence model's control and implicit-state inputs, which the sequence batcher normally feeds: Triton lets a
 * warmup sample give them (they are not in config.input), so the model can run at all. Optional: a sample that omits
 * them fails when the model runs, with the backend's message.
 */
function sequenceInputs(config: NormalizedModelConfig): NormalizedModelInput[] {
  const batching = config.sequence_batching;
  if (!batching) return [];
  const input = (name: string, data_type: NormalizedModelInput['data_type'], dims: number[]): NormalizedModelInput => ({
    name,
    data_type,
    format: 'FORMAT_NONE',
    dims,
    optional: true,
  });
  const controls = (batching.control_input ?? []).flatMap((control) => {
    const first = control.control?.[0];
    if (!control.name || !first) return [];
    const type = first.int32_false_true ? 'TYPE_INT32' : first.fp32_false_true ? 'TYPE_FP32' : first.bool_false_true ? 'TYPE_BOOL' : first.data_type;
    return type ? [input(control.name, type, [1])] : [];
  });
  const states = (batching.state ?? []).flatMap((state) =>
    state.input_name && state.data_type ? [input(state.input_name, state.data_type, state.dims ?? [])] : [],
  );
  return [...controls, ...states];
}

function fillRandom(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
}

function sample(name: string, entry: ModelWarmup, batchSize: number, batching: boolean, inputs: SampleInput[]): WarmupSample {
  // With batching, Triton's batch_size requests of one row reach the backend together: one merged batch here.
  const rows = batching ? batchSize : 1;
  const executionsPerIteration = batching ? 1 : batchSize;
  const tensor = (input: SampleInput): Tensor => {
    const shape = batching ? [rows, ...input.dims] : [...input.dims];
    if (Array.isArray(input.data)) {
      const one = input.data;
      return { name: input.name, datatype: input.datatype, shape, data: BytesData.fromElements(Array.from({ length: rows }, () => one).flat()) };
    }
    const bytes = new Uint8Array(input.data.byteLength * rows);
    for (let row = 0; row < rows; row++) bytes.set(input.data, row * input.data.byteLength);
    return { name: input.name, datatype: input.datatype, shape, data: typedArrayFromBytes(input.datatype, bytes) };
  };
  return {
    name,
    count: Math.max(1, entry.count ?? 0),
    batchSize,
    rowsPerExecution: rows,
    executions: () => Array.from({ length: executionsPerIteration }, () => inputs.map(tensor)),
  };
}
