import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { INITIAL_STATE_FOLDER } from '../config/model-paths';
import { configToKserve } from '../config/datatypes';
import type { ModelSequenceBatching } from '../config/model-config';
import { DATATYPES, DataType, elementCount } from '../core/datatypes';
import { BytesData, typedArrayFromBytes, type Tensor } from '../core/tensor';

/** One implicit state (config.sequence_batching.state): fed as `inputName`, read back from `outputName`. */
export interface StateSpec {
  readonly inputName: string;
  readonly outputName: string;
  /** The value a sequence starts from (initial_state, or zeros), one batch row, without the batch dimension. */
  readonly initial: Tensor;
}

/** A sequence's current state tensors by input name, one row each (no batch dimension). */
export type SequenceState = Map<string, Tensor>;

/**
 * Resolve the state specs, reading initial_state data files (relative to `<model>/initial_state/`, as in Triton).
 * Variable dimensions start at 1, as Triton sizes them.
 */
export async function loadStateSpecs(sequenceBatching: ModelSequenceBatching, modelDir: string): Promise<StateSpec[]> {
  const specs: StateSpec[] = [];
  for (const state of sequenceBatching.state ?? []) {
    const datatype = configToKserve(state.data_type ?? 'TYPE_FP32');
    const initialConfig = state.initial_state?.[0];
    const dims = (initialConfig?.dims ?? state.dims ?? []).map((dim) => (dim === -1 ? 1 : dim));
    const count = elementCount(dims);
    let data = zeros(datatype, count);
    if (initialConfig?.data_file) {
      const bytes = await fs.readFile(path.join(modelDir, INITIAL_STATE_FOLDER, initialConfig.data_file));
      data = fromFile(datatype, new Uint8Array(bytes), count, initialConfig.data_file);
    }
    specs.push({
      inputName: state.input_name ?? '',
      outputName: state.output_name ?? '',
      initial: { name: state.input_name ?? '', datatype, shape: dims, data },
    });
  }
  return specs;
}

/** The state a sequence starts (or restarts, on START) with. */
export function initialState(specs: readonly StateSpec[]): SequenceState {
  return new Map(specs.map((spec) => [spec.inputName, spec.initial]));
}

/** Keep the state outputs of one row as the sequence's next state (copied: the batch buffer is not ours to keep). */
export function stateFromOutputs(specs: readonly StateSpec[], rowOutputs: readonly Tensor[], batched: boolean): SequenceState {
  const state: SequenceState = new Map();
  for (const spec of specs) {
    const output = rowOutputs.find((tensor) => tensor.name === spec.outputName);
    if (!output) {
      state.set(spec.inputName, spec.initial);
      continue;
    }
    const data = output.data.slice();
    const shape = batched ? output.shape.slice(1) : [...output.shape];
    state.set(spec.inputName, { name: spec.inputName, datatype: output.datatype, shape, data });
  }
  return state;
}

function zeros(datatype: DataType, count: number): Tensor['data'] {
  const ArrayType = DATATYPES[datatype].arrayType;
  if (!ArrayType) return BytesData.fromElements(Array.from({ length: count }, () => new Uint8Array(0)));
  return new ArrayType(count);
}

function fromFile(datatype: DataType, bytes: Uint8Array, count: number, file: string): Tensor['data'] {
  const expected = count * DATATYPES[datatype].byteSize;
  if (!DATATYPES[datatype].arrayType || bytes.byteLength !== expected) {
    throw new Error(
      `initial_state data_file '${file}' holds ${bytes.byteLength} bytes, expected ${expected} for ${datatype} with ${count} elements`,
    );
  }
  return typedArrayFromBytes(datatype, bytes).slice();
}
