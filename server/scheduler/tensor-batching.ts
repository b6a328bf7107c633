import { DATATYPES, FixedTypedArray, TensorData } from '../core/datatypes';
import { BytesData, isBytesData, Tensor } from '../core/tensor';

/** Concatenate the same input of several requests along the batch (first) dimension. */
export function concatBatch(parts: readonly Tensor[]): Tensor {
  const first = parts[0];
  if (parts.length === 1) return first;
  const batch = parts.reduce((sum, part) => sum + part.shape[0], 0);
  const shape = [batch, ...first.shape.slice(1)];
  if (isBytesData(first.data)) {
    const data = BytesData.concat(parts.map((part) => part.data as BytesData));
    return { name: first.name, datatype: first.datatype, shape, data };
  }
  const total = parts.reduce((sum, part) => sum + part.data.length, 0);
  const ArrayType = DATATYPES[first.datatype].arrayType!;
  const data = new ArrayType(total) as FixedTypedArray;
  let offset = 0;
  for (const part of parts) {
    (data as { set(array: ArrayLike<number | bigint>, offset: number): void }).set(part.data as FixedTypedArray, offset);
    offset += part.data.length;
  }
  return { name: first.name, datatype: first.datatype, shape, data };
}

/** Split a batched output back into one tensor per request (views, no copies). */
export function splitBatch(output: Tensor, batchSizes: readonly number[]): Tensor[] {
  if (batchSizes.length === 1) return [output];
  const total = batchSizes.reduce((a, b) => a + b, 0);
  if (output.shape[0] !== total) {
    throw new Error(`output '${output.name}' has batch dimension ${output.shape[0]}, expected ${total}`);
  }
  const perItem = output.data.length / total;
  const result: Tensor[] = [];
  let offset = 0;
  for (const size of batchSizes) {
    const end = offset + size * perItem;
    const data: TensorData = output.data.subarray(offset, end);
    result.push({ name: output.name, datatype: output.datatype, shape: [size, ...output.shape.slice(1)], data });
    offset = end;
  }
  return result;
}

/** Requests can share a batch when every input has the same shape past the batch dimension. */
export function canShareBatch(a: readonly Tensor[], b: readonly Tensor[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b.find((t) => t.name === x.name);
    if (!y || x.datatype !== y.datatype || x.shape.length !== y.shape.length) return false;
    for (let d = 1; d < x.shape.length; d++) if (x.shape[d] !== y.shape[d]) return false;
  }
  return true;
}

/** The inputs of several requests merged into one batch, input by input (in the first request's order). */
export function mergeInputs(perJob: Tensor[][]): Tensor[] {
  return perJob[0].map((input) => concatBatch(perJob.map((inputs) => inputs.find((t) => t.name === input.name)!)));
}

/** A merged batch's outputs split back into each request's rows. */
export function splitOutputs(outputs: Tensor[], batchSizes: number[]): Tensor[][] {
  const perJob: Tensor[][] = batchSizes.map(() => []);
  for (const output of outputs) {
    splitBatch(output, batchSizes).forEach((part, i) => perJob[i].push(part));
  }
  return perJob;
}
