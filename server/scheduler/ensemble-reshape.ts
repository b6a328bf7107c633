/**
 * How a tensor changes shape between an ensemble and its steps when one side batches and the other does not, as
 * Triton's ensemble scheduler does it (core's EnsembleContext::ReshapeTensorDims): a tensor made without batching (a
 * non-batching ensemble's input, a non-batching step's output) that already has the dims a batching model expects
 * gets a batch dimension of 1; a tensor made with batch size 1 going to a model without batching loses its batch
 * dimension unless its shape already fits that model's dims. Any other tensor keeps its shape (the model then
 * refuses it, or takes it as a batch).
 */

/** A tensor's batch size as Triton records it for an ensemble: 0 when the model that made it does not batch. */
export type SourceBatchSize = number;

/** The batch size a request to a model has, as an ensemble records it for the tensors the model makes (0: no batching). */
export function batchSizeOf(maxBatchSize: number, inputShapes: readonly (readonly number[])[]): SourceBatchSize {
  if (maxBatchSize <= 0) return 0;
  return inputShapes[0]?.[0] ?? 0;
}

/** The shape `shape` (made with `sourceBatchSize`) takes for a model with `dims` that batches when `batching`. */
export function reshapeForModel(dims: readonly number[], batching: boolean, sourceBatchSize: SourceBatchSize, shape: readonly number[]): number[] {
  if (batching === (sourceBatchSize !== 0)) return [...shape];
  if (batching) return dimsMatch(dims, shape) ? [1, ...shape] : [...shape];
  return !dimsMatch(dims, shape) && sourceBatchSize === 1 ? shape.slice(1) : [...shape];
}

/** Equal rank, and every dimension equal or -1 on either side (Triton's CompareDimsWithWildcard). */
function dimsMatch(dims: readonly number[], shape: readonly number[]): boolean {
  return dims.length === shape.length && dims.every((dim, i) => dim === -1 || shape[i] === -1 || dim === shape[i]);
}

/** What shaping a step's inputs reads of the composing model's config. */
export interface ComposingModelShape {
  readonly max_batch_size: number;
  readonly input: readonly { readonly name: string; readonly dims: readonly number[] }[];
}

/**
 * A step's inputs shaped for the composing model (each made with the batch size `batchSizes` gives for its name; one
 * it does not name keeps its shape), and the batch size of the step's request, which its outputs carry on.
 */
export function shapeStepInputs<T extends { readonly name: string; readonly shape: number[] }>(
  model: ComposingModelShape,
  inputs: readonly T[],
  batchSizes: ReadonlyMap<string, SourceBatchSize> | undefined,
): { inputs: T[]; batchSize: SourceBatchSize } {
  const batching = model.max_batch_size > 0;
  const shaped = inputs.map((input) => {
    const dims = model.input.find((spec) => spec.name === input.name)?.dims;
    const made = batchSizes?.get(input.name);
    return dims && made !== undefined ? { ...input, shape: reshapeForModel(dims, batching, made, input.shape) } : input;
  });
  return { inputs: shaped, batchSize: batchSizeOf(model.max_batch_size, shaped.map((input) => input.shape)) };
}
