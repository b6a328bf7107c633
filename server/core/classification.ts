/**
 * Triton's classification extension: an output requested with `parameters.classification = k` is answered with its
 * top k entries per batch item, as BYTES strings "<value>:<index>" or "<value>:<index>:<label>" when the output
 * config names a label_filename.
 */
import type { DataType } from './datatypes';
import { Errors } from './errors';
import { BytesData, isBytesData, type Tensor } from './tensor';

const encoder = new TextEncoder();

/** Triton's bound on the elements one batch item may classify (it guards sorting pathological outputs). */
const MAX_CLASSIFICATION_ELEMENTS = 1_000_000;

/** The datatypes Triton ranks (BOOL, FP16, BF16 and BYTES have no class results). */
const CLASSIFIABLE: ReadonlySet<DataType> = new Set<DataType>(['UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP32', 'FP64']);

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
  if (!CLASSIFIABLE.has(tensor.datatype) || isBytesData(tensor.data)) {
    throw Errors.classificationUnsupportedType(tensor.datatype);
  }
  const values = tensor.data as ArrayLike<number | bigint>;
  const rows = batched && tensor.shape.length > 0 ? tensor.shape[0] : 1;
  const perRow = rows === 0 ? 0 : values.length / rows;
  if (perRow > MAX_CLASSIFICATION_ELEMENTS) throw Errors.classificationTooLarge();
  const count = Math.min(k, perRow);
  const isFloat = tensor.datatype === 'FP32' || tensor.datatype === 'FP64';
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
