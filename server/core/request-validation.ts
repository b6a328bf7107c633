/** The facade's checks of a request against its model's configuration (Triton's wording and codes). */
import { configToKserve } from '../config/datatypes';
import type { NormalizedModelConfig } from '../config/model-config';
import { DATATYPES, elementCount } from './datatypes';
import { Errors } from './errors';
import type { Tensor } from './tensor';
import type { InferInputTensor, InferRequest } from './types';

/** An input as its header describes it, before its data is decoded. */
export interface InputHeader {
  readonly name: string;
  readonly datatype: string;
}

/**
 * The checks that need no tensor data, run by the frontends before they decode any (a request for a model that does
 * not exist, or with an input the model does not have, is refused before its tensors cost memory): each input's name
 * and datatype against the configuration, in validateInputs' order and wording.
 */
export function checkInputHeaders(config: NormalizedModelConfig, inputs: readonly InputHeader[], rid: string | undefined): void {
  for (const input of inputs) {
    const spec = config.input.find((candidate) => candidate.name === input.name);
    if (!spec) throw Errors.unexpectedInput(rid, config.name, input.name, config.input.map((candidate) => candidate.name));
    const want = configToKserve(spec.data_type);
    if (input.datatype !== want) throw Errors.datatypeMismatch(rid, config.name, input.name, want, input.datatype);
  }
}

/** Check every input against the configuration: names, datatypes, shapes, batch size, element counts. */
export function validateInputs(
  config: NormalizedModelConfig,
  inputs: readonly InferInputTensor[],
  rid: string | undefined,
): { inputs: Tensor[]; batchSize: number } {
  const model = config.name;
  const expected = new Map(config.input.map((input) => [input.name, input]));
  const seen = new Set<string>();
  let batchSize: number | undefined;
  for (const input of inputs) {
    const spec = expected.get(input.name);
    if (!spec) throw Errors.unexpectedInput(rid, model, input.name, [...expected.keys()]);
    if (seen.has(input.name)) throw Errors.duplicateInput(input.name);
    seen.add(input.name);
    const want = configToKserve(spec.data_type);
    if (input.datatype !== want) throw Errors.datatypeMismatch(rid, model, input.name, want, input.datatype);
    if (DATATYPES[input.datatype].ortType === null) throw Errors.datatypeNotRunnable(input.datatype, config.backend);
    const dims = spec.dims;
    let shape = input.shape;
    if (config.max_batch_size > 0) {
      if (shape.length === 0) throw Errors.shapeMismatch(rid, model, input.name, fmt([-1, ...dims]), fmt(shape));
      const batch = shape[0];
      if (batchSize !== undefined && batch !== batchSize) {
        throw Errors.batchMismatch(rid, input.name, batch, batchSize);
      }
      if (batch < 1 || batch > config.max_batch_size) throw Errors.batchTooLarge(rid, model, batch, config.max_batch_size);
      batchSize = batch;
      shape = shape.slice(1);
    }
    if (!shapeMatches(dims, shape)) {
      const expectedShape = config.max_batch_size > 0 ? [-1, ...dims] : dims;
      throw Errors.shapeMismatch(rid, model, input.name, fmt(expectedShape), fmt(input.shape));
    }
    const count = elementCount(input.shape);
    if (input.data.length !== count) throw Errors.elementCountMismatch(input.name, count, input.data.length);
  }
  const missing = config.input.filter((spec) => !seen.has(spec.name) && !spec.optional).map((spec) => spec.name);
  if (missing.length > 0) throw Errors.missingInputs(rid, model, config.input.length, [...seen], missing);
  return { inputs: inputs as Tensor[], batchSize: batchSize ?? 1 };
}

function shapeMatches(dims: readonly number[], shape: readonly number[]): boolean {
  if (dims.length !== shape.length) return false;
  return dims.every((dim, i) => dim === -1 || dim === shape[i]);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function selectOutputs(config: NormalizedModelConfig, request: InferRequest): string[] {
  const all = config.output.map((output) => output.name);
  if (!request.outputs || request.outputs.length === 0) return all;
  const known = new Set(all);
  for (const output of request.outputs) {
    if (!known.has(output.name)) throw Errors.unexpectedOutput(config.name, output.name);
  }
  // A name requested twice is answered once, as Triton keeps requested outputs by name.
  return [...new Set(request.outputs.map((output) => output.name))];
}


