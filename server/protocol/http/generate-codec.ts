/**
 * Triton's generate extension (POST .../generate and .../generate_stream): a flat JSON object whose fields are
 * mapped by name, as Triton does: a field named like a model input becomes that input (a value or a flat array,
 * shaped to the input's metadata shape), `parameters` (an object) and every other scalar field become request
 * parameters, `id` the request id. A response is a flat object too: `model_name`, `model_version`, `id` (when not
 * empty), and each output by name (one element: the value itself, else an array).
 */
import { elementCount } from '../../core/datatypes';
import { Errors, InferenceError, isInferenceError } from '../../core/errors';
import type { InferRequest, InferRequestInput, InferResponse, ModelMetadata, Parameters } from '../../core/types';
import { parseJsonObject } from './codec';
import { tensorDataFromJson, tensorDataToJson } from './tensor-json';

export interface GenerateTarget {
  readonly model: string;
  readonly version?: string;
}

const PARAMETERS_KEYWORD = 'parameters';

export function decodeGenerateRequest(body: Uint8Array, target: GenerateTarget, metadata: ModelMetadata): InferRequest {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  const json = parseJsonObject(text);
  const inputs = new Map(metadata.inputs.map((input) => [input.name, input]));
  // JSON.parse keeps the last of repeated keys; Triton sees every one and refuses an input given twice.
  const repeated = repeatedTopLevelKeys(text).find((key) => inputs.has(key));
  if (repeated !== undefined) throw Errors.duplicateInput(repeated);
  const tensors: InferRequestInput[] = [];
  const parameters: Record<string, Parameters[string]> = {};
  let id: string | undefined;
  for (const [key, value] of Object.entries(json)) {
    const input = inputs.get(key);
    if (key === PARAMETERS_KEYWORD) {
      if (input) throw Errors.invalidRequest(`Keyword '${key}' for nested schema also given as input tensor name`);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw Errors.generateKeywordNotObject(key);
      for (const [name, parameter] of Object.entries(value as Record<string, unknown>)) {
        parameters[name] = withKeyword(key, () => scalarParameter(name, parameter));
      }
    } else if (input) {
      const values = Array.isArray(value) ? value : [value];
      const shape = generateShape(key, input.shape, values.length);
      tensors.push({ name: key, datatype: input.datatype, shape, data: tensorDataFromJson(key, input.datatype, values.length, values) });
    } else if (key === 'id') {
      if (typeof value !== 'string') throw Errors.badField('id', 'attempt to access JSON non-string as string');
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

/**
 * Keys that occur more than once in the top-level object of a JSON text already known to be valid, in the order
 * their second occurrence appears. Hand-written: JSON.parse and the JSON libraries in use drop repeated keys silently.
 */
export function repeatedTopLevelKeys(text: string): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (seen.has(key) && !repeated.includes(key)) repeated.push(key);
        seen.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = depth === 1 && c === '{';
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return repeated;
}

/**
 * The tensor shape for `count` values of an input whose metadata shape is `dims` (-1: variable), as Triton pads a
 * generate value: the fixed dimensions take their size, the innermost variable one the rest, other variable ones 1.
 */
export function generateShape(input: string, dims: readonly number[], count: number): number[] {
  let remaining = count;
  for (const dim of dims) {
    if (dim < 0) continue;
    if (dim === 0 ? remaining !== 0 : remaining % dim !== 0) throw Errors.generateInputShape(input);
    if (dim !== 0) remaining /= dim;
  }
  const shape = [...dims];
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] >= 0) continue;
    shape[i] = remaining;
    remaining = 1;
  }
  if (remaining !== 1) throw Errors.generateInputShape(input);
  return shape;
}

function withKeyword<T>(keyword: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (isInferenceError(error)) throw Errors.generateKeyword(keyword, error as InferenceError);
    throw error;
  }
}

function scalarParameter(name: string, value: unknown): string | number | boolean {
  if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw Errors.invalidParameterType(name);
}

/** The flat JSON text of one response. */
export function encodeGenerateResponse(response: InferResponse): string {
  let out = `{"model_name":${JSON.stringify(response.model)},"model_version":${JSON.stringify(response.version)}`;
  // Triton leaves an empty id out.
  if (response.id) out += `,"id":${JSON.stringify(response.id)}`;
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
