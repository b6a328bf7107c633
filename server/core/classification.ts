/**
 * Triton's classification extension: an output requested with `parameters.classification = k` is answered with its
 * top k entries per batch item, as BYTES strings "<value>:<index>" or "<value>:<index>:<label>" when the output
 * config names a label_filename.
 */
import { DATATYPES } from './datatypes';
import { Errors } from './errors';
import { BytesData, isBytesData, type Tensor } from './tensor';

const encoder = new TextEncoder();

/** The `classification` parameter of a requested output: a positive integer, or undefined when absent. */
export function classCount(parameters: Readonly<Record<string, unknown>> | undefined, output: string): number | undefined {
  const value = parameters?.classification;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw Errors.invalidRequest(`output '${output}': classification must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Replace a tensor by its top-k classes; `batched`: the first dimension is the batch. */
export function classify(tensor: Tensor, k: number, batched: boolean, labels: readonly string[] | undefined): Tensor {
  if (isBytesData(tensor.data) || DATATYPES[tensor.datatype].ortType === null) {
    throw Errors.invalidRequest(`output '${tensor.name}': classification needs a numeric output, got ${tensor.datatype}`);
  }
  const values = tensor.data as ArrayLike<number | bigint>;
  const rows = batched && tensor.shape.length > 0 ? tensor.shape[0] : 1;
  const perRow = rows === 0 ? 0 : values.length / rows;
  const count = Math.min(k, perRow);
  const isFloat = tensor.datatype === 'FP32' || tensor.datatype === 'FP64' || tensor.datatype === 'FP16';
  const data: Uint8Array[] = [];
  for (let row = 0; row < rows; row++) {
    const offset = row * perRow;
    const order = Array.from({ length: perRow }, (_, i) => i).sort((a, b) => {
      const x = Number(values[offset + a]);
      const y = Number(values[offset + b]);
      return y - x || a - b;
    });
    for (const index of order.slice(0, count)) {
      const value = Number(values[offset + index]);
      const text = isFloat ? value.toFixed(6) : String(values[offset + index]);
      const label = labels?.[index];
      data.push(encoder.encode(label ? `${text}:${index}:${label}` : `${text}:${index}`));
    }
  }
  return { name: tensor.name, datatype: 'BYTES', shape: batched ? [rows, count] : [count], data: BytesData.fromElements(data) };
}
