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
 * and datatype against the configuration, in validateInputs' order and wording. A request short of required inputs is
 * left to validateInputs, which refuses it first (Triton counts inputs before it reads datatypes) and traces it.
 */
export function checkInputHeaders(config: NormalizedModelConfig, inputs: readonly InputHeader[], rid: string | undefined): void {
  const seen = checkInputNames(config, inputs, rid);
  if (hasMissingInputs(config, seen)) return;
  const specs = inputSpecsOf(config);
  for (const input of inputs) {
    const want = configToKserve(specs.get(input.name)!.data_type);
    if (input.datatype !== want) throw Errors.datatypeMismatch(rid, config.name, input.name, want, input.datatype);
  }
}

type InputSpec = NormalizedModelConfig['input'][number];

/**
 * A configuration's inputs by name, built on first use: every request is checked against it twice (its headers, then
 * its tensors), and a map per check was a measurable share of a small request's allocations. A served version's
 * configuration is complete (auto-completed) before its first request and never changes after.
 */
const inputSpecs = new WeakMap<NormalizedModelConfig, ReadonlyMap<string, InputSpec>>();

function inputSpecsOf(config: NormalizedModelConfig): ReadonlyMap<string, InputSpec> {
  let specs = inputSpecs.get(config);
  if (!specs) {
    specs = new Map(config.input.map((input) => [input.name, input]));
    inputSpecs.set(config, specs);
  }
  return specs;
}

/** Triton's first check: every input known and given once. Returns the names given. */
function checkInputNames(config: NormalizedModelConfig, inputs: readonly { readonly name: string }[], rid: string | undefined): Set<string> {
  const expected = inputSpecsOf(config);
  const seen = new Set<string>();
  for (const input of inputs) {
    if (!expected.has(input.name)) throw Errors.unexpectedInput(rid, config.name, input.name, [...expected.keys()]);
    if (seen.has(input.name)) throw Errors.duplicateInput(input.name);
    seen.add(input.name);
  }
  return seen;
}

function hasMissingInputs(config: NormalizedModelConfig, given: ReadonlySet<string>): boolean {
  for (const spec of config.input) if (!given.has(spec.name) && !spec.optional) return true;
  return false;
}

/** The required inputs not given. */
function missingInputs(config: NormalizedModelConfig, given: ReadonlySet<string>): string[] {
  return config.input.filter((spec) => !given.has(spec.name) && !spec.optional).map((spec) => spec.name);
}

/**
 * Check every input against the configuration in Triton's order: names, then the input count, then each input's
 * datatype, batch dimension, shape and element count.
 */
export function validateInputs(
  config: NormalizedModelConfig,
  inputs: readonly InferInputTensor[],
  rid: string | undefined,
): { inputs: Tensor[]; batchSize: number } {
  const model = config.name;
  const expected = inputSpecsOf(config);
  const seen = checkInputNames(config, inputs, rid);
  if (hasMissingInputs(config, seen)) {
    const missing = missingInputs(config, seen);
    const required = config.input.filter((spec) => !spec.optional).length;
    throw Errors.missingInputs(rid, model, required, config.input.length, [...seen], missing);
  }
  let batchSize: number | undefined;
  const batching = config.max_batch_size > 0;
  if (batching) {
    for (const input of inputs) {
      if (input.shape.length === 0) throw Errors.noBatchDimension(rid, model, input.name);
      const batch = input.shape[0];
      if (batchSize !== undefined && batch !== batchSize) throw Errors.batchMismatch(rid, model, input.name);
      batchSize = batch;
    }
  }
  if (batchSize !== undefined && (batchSize < 1 || batchSize > config.max_batch_size)) {
    throw Errors.batchTooLarge(rid, model, config.max_batch_size, missingBatchDimension(config, inputs));
  }
  for (const input of inputs) {
    const spec = expected.get(input.name)!;
    const want = configToKserve(spec.data_type);
    if (input.datatype !== want) throw Errors.datatypeMismatch(rid, model, input.name, want, input.datatype);
    if (DATATYPES[input.datatype].ortType === null) throw Errors.datatypeNotRunnable(input.datatype, config.backend);
    const shape = batching ? input.shape.slice(1) : input.shape;
    if (!shapeMatches(spec.dims, shape)) {
      const expectedShape = batching ? [-1, ...spec.dims] : spec.dims;
      throw Errors.shapeMismatch(rid, model, input.name, fmt(expectedShape), fmt(input.shape), batching, batching ? missingBatchDimension(config, inputs) : undefined);
    }
    const count = elementCount(input.shape);
    if (input.data.length !== count) throw Errors.elementCountMismatch(input.name, count, input.data.length);
  }
  return { inputs: inputs as Tensor[], batchSize: batchSize ?? 1 };
}

/** For a batching model: the hint for the first input whose shape is a sample's shape (the config's dims), if any. */
function missingBatchDimension(config: NormalizedModelConfig, inputs: readonly InferInputTensor[]): string | undefined {
  for (const input of inputs) {
    const spec = config.input.find((candidate) => candidate.name === input.name);
    if (spec && spec.dims.length > 0 && shapeMatches(spec.dims, input.shape)) {
      return Errors.missingBatchDimensionHint(config.name, config.max_batch_size, input.name, fmt(input.shape), fmt([1, ...input.shape]));
    }
  }
  return undefined;
}

function shapeMatches(dims: readonly number[], shape: readonly number[]): boolean {
  if (dims.length !== shape.length) return false;
  return dims.every((dim, i) => dim === -1 || dim === shape[i]);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** A configuration's output names, in its order (built on first use, as inputSpecsOf). */
const outputNames = new WeakMap<NormalizedModelConfig, readonly string[]>();

export function selectOutputs(config: NormalizedModelConfig, request: InferRequest): readonly string[] {
  let all = outputNames.get(config);
  if (!all) {
    all = Object.freeze(config.output.map((output) => output.name));
    outputNames.set(config, all);
  }
  if (!request.outputs || request.outputs.length === 0) return all;
  const known = new Set(all);
  const selected = new Set<string>();
  for (const output of request.outputs) {
    // Triton refuses a name requested twice while it reads the request, before it looks at the model.
    if (selected.has(output.name)) throw Errors.duplicateOutput(request.id, output.name);
    selected.add(output.name);
  }
  for (const name of selected) if (!known.has(name)) throw Errors.unexpectedOutput(config.name, name);
  return [...selected];
}



/** A model name a load request may use (Triton's ValidateModelName): not blank, no path traversal. */
export function checkLoadableModelName(name: string): void {
  const trimmed = name.trim();
  if (trimmed === '') throw Errors.modelNameEmpty();
  if (trimmed === '..' || trimmed.includes('/')) throw Errors.modelNameTraversal(name);
}
