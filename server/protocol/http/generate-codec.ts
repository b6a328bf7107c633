/**
 * Triton's generate extension (POST .../generate and .../generate_stream): a flat JSON object whose fields are
 * mapped by name, as Triton does: a field named like a model input becomes that input (a scalar: shape [1], an
 * array: [n], with a leading batch dimension of 1 when the model batches), `parameters` and every other scalar field
 * become request parameters, `id` the request id. A response is a flat object too: `model_name`, `model_version`,
 * `id`, and each output by name (one element: the value itself, else an array).
 */
import { elementCount } from '../../core/datatypes';
import { Errors } from '../../core/errors';
import type { InferRequest, InferRequestInput, InferResponse, ModelMetadata, Parameters } from '../../core/types';
import { parseJsonObject } from './codec';
import { tensorDataFromJson, tensorDataToJson } from './tensor-json';

export interface GenerateTarget {
  readonly model: string;
  readonly version?: string;
}

/** `batching`: the model's max_batch_size > 0 (each input gets a batch dimension of 1). */
export function decodeGenerateRequest(body: Uint8Array, target: GenerateTarget, metadata: ModelMetadata, batching: boolean): InferRequest {
  const json = parseJsonObject(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  const inputs = new Map(metadata.inputs.map((input) => [input.name, input]));
  const tensors: InferRequestInput[] = [];
  const parameters: Record<string, Parameters[string]> = {};
  let id: string | undefined;
  for (const [key, value] of Object.entries(json)) {
    const input = inputs.get(key);
    if (input) {
      const values = Array.isArray(value) ? value : [value];
      const shape = batching ? [1, values.length] : [values.length];
      tensors.push({ name: key, datatype: input.datatype, shape, data: tensorDataFromJson(key, input.datatype, values.length, values) });
    } else if (key === 'parameters') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw Errors.badField('parameters', 'expected a JSON object');
      for (const [name, parameter] of Object.entries(value as Record<string, unknown>)) parameters[name] = scalarParameter(name, parameter);
    } else if (key === 'id') {
      if (typeof value !== 'string') throw Errors.badField('id', 'expected a string');
      id = value;
    } else {
      parameters[key] = scalarParameter(key, value);
    }
  }
  return {
    model: target.model,
    ...(target.version ? { version: target.version } : {}),
    ...(id !== undefined ? { id } : {}),
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    inputs: tensors,
  };
}

function scalarParameter(name: string, value: unknown): string | number | boolean {
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw Errors.generateInputInvalid(name, 'not a model input, and a parameter must be a string, number or boolean');
}

/** The flat JSON text of one response. */
export function encodeGenerateResponse(response: InferResponse): string {
  let out = `{"model_name":${JSON.stringify(response.model)},"model_version":${JSON.stringify(response.version)}`;
  if (response.id !== undefined) out += `,"id":${JSON.stringify(response.id)}`;
  for (const output of response.outputs) {
    if (output.sharedMemory) continue;
    if (output.data.length !== elementCount(output.shape)) throw Errors.outputSizeMismatch(output.name);
    if (output.datatype === 'BF16') throw Errors.generateOutputNotConvertible(output.name, output.datatype);
    // Server-sent events are text: BYTES that are not UTF-8 read as U+FFFD here.
    const array = tensorDataToJson(output.datatype, output.data).toString();
    out += `,${JSON.stringify(output.name)}:${output.data.length === 1 ? array.slice(1, -1) : array}`;
  }
  return `${out}}`;
}
