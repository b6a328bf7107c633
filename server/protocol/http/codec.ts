/**
 * KServe v2 HTTP infer bodies ↔ core requests and responses, with Triton's binary tensor data extension.
 * Pure functions: no fastify here, so every rule is unit-testable.
 *
 * Request body: JSON, or (with `Inference-Header-Content-Length: N`) N bytes of JSON followed by the raw tensors of
 * the inputs that carry `parameters.binary_data_size`, in input order. Binary inputs are views into the body.
 */
import { DATATYPES, DataType, elementCount, isDataType } from '../../core/datatypes';
import { exactIntegerParameter } from './exact-integer';
import { Errors } from '../../core/errors';
import { tensorDataFromRaw } from '../../core/raw-tensor';
import { BytesData, rawBytesOf, Tensor } from '../../core/tensor';
import { parseSharedMemoryParameters, sharedMemoryParameters } from '../../core/shared-memory-tensors';
import type {
  InferRequest,
  InferRequestInput,
  InferResponse,
  Parameters,
  ParameterValue,
  RequestedOutput,
  TensorMetadata,
} from '../../core/types';
import { parseInferJsonStreaming, STREAM_JSON_MIN_BYTES, StreamedData } from './json-stream';
import { jsonInputElementCount } from './shape-size';
import { tensorDataFromJson, tensorDataToJson } from './tensor-json';

export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';
export const JSON_CONTENT_TYPE = 'application/json';
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

/** Which outputs the response carries as binary data. */
export interface OutputEncoding {
  /** Request-level `parameters.binary_data_output`. */
  readonly binaryByDefault: boolean;
  /** Per-output `parameters.binary_data`, which overrides the default. */
  readonly binaryByName: ReadonlyMap<string, boolean>;
}

export interface DecodedInferRequest {
  readonly request: InferRequest;
  readonly outputEncoding: OutputEncoding;
}

export interface InferTarget {
  readonly model: string;
  /** Absent or empty: the facade picks the version. */
  readonly version?: string;
}

export interface EncodedInferResponse {
  readonly body: string | Buffer;
  readonly contentType: string;
  /** Length of the JSON part when binary outputs follow it (the response's Inference-Header-Content-Length). */
  readonly inferenceHeaderLength?: number;
}

type JsonObject = Record<string, unknown>;

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * The value of the Inference-Header-Content-Length request header: undefined when absent (the whole body is JSON).
 * 0 means the whole body is one raw binary input (Triton's raw request).
 */
export function parseInferenceHeaderLength(header: string | string[] | undefined, bodyLength: number): number | undefined {
  if (header === undefined) return undefined;
  const text = (Array.isArray(header) ? header[0] ?? '' : header).trim();
  const value = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= bodyLength)) throw Errors.badInferenceHeaderLength(text.slice(0, 64), bodyLength);
  return value;
}

/** Parse a JSON object body; empty bodies are the caller's business. */
export function parseJsonObject(text: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Only the failure path looks at blank bodies: trimming every request would copy it.
    if (text.trim() === '') throw Errors.badJson('The document is empty.');
    throw Errors.badJson(error instanceof Error ? error.message : String(error));
  }
  if (!isJsonObject(parsed)) throw Errors.badJson('expected a JSON object');
  return parsed;
}

/** KServe parameters: values must be string, number or boolean (Triton: 'int', 'bool' or 'string'). */
function parseParameters(value: unknown, field: string): Parameters {
  if (!isJsonObject(value)) throw Errors.badField(field, 'expected a JSON object');
  const parameters: Record<string, ParameterValue> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string' && typeof entry !== 'number' && typeof entry !== 'boolean') {
      throw Errors.invalidParameterType(key);
    }
    parameters[key] = entry;
  }
  return parameters;
}

function isUnsignedInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function parseShape(value: unknown, input: string): number[] {
  if (!Array.isArray(value)) throw Errors.badField('shape', `expected an array of dimensions for input '${input}'`);
  for (const dim of value) {
    // Integers past 2^53 are let through: the element count check names the overflow, as Triton does.
    if (!(typeof dim === 'number' && Number.isInteger(dim) && dim >= 0)) throw Errors.shapeNotUnsigned();
  }
  return value as number[];
}

/** Request-level parameters, minus the binary extension's, which only concern this frontend. */
function parseRequestParameters(value: unknown): { parameters?: Parameters; binaryByDefault: boolean } {
  if (value === undefined) return { binaryByDefault: false };
  const parameters = parseParameters(value, 'parameters');
  // Reserved keys, priority and timeout are checked in the facade (core/request-parameters.ts), for both frontends.
  let binaryByDefault = false;
  if ('binary_data_output' in parameters) {
    const flag = parameters.binary_data_output;
    if (typeof flag !== 'boolean') throw Errors.badField('binary_data_output', 'expected a boolean');
    binaryByDefault = flag;
    delete parameters.binary_data_output;
  }
  return { parameters: Object.keys(parameters).length > 0 ? parameters : undefined, binaryByDefault };
}

/** Reads the binary section of a body: consecutive slices, in input order. */
class BinarySection {
  private offset: number;

  constructor(
    private readonly body: Buffer,
    jsonLength: number | undefined,
    readonly model: string,
  ) {
    this.offset = jsonLength ?? body.length;
  }

  remaining(): number {
    return this.body.length - this.offset;
  }

  take(input: string, byteSize: number): Uint8Array {
    if (byteSize > this.remaining()) throw Errors.binaryInputTruncated(input, this.model, byteSize - this.remaining());
    const slice = this.body.subarray(this.offset, this.offset + byteSize);
    this.offset += byteSize;
    return slice;
  }
}

/** An input's JSON with its header fields checked; its data is decoded later (decodeInputData). */
interface ParsedInput {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: number[];
  readonly data: unknown;
  readonly parameters?: Parameters;
}

function parseInput(value: unknown, index: number): ParsedInput {
  if (!isJsonObject(value)) throw Errors.badField('inputs', `input ${index} is not a JSON object`);
  const { name, datatype, shape: rawShape, data, parameters: rawParameters } = value;
  if (typeof name !== 'string') throw Errors.badField('name', `input ${index} needs a string 'name'`);
  if (typeof datatype !== 'string') throw Errors.badField('datatype', `input '${name}' needs a string 'datatype'`);
  if (!isDataType(datatype)) throw Errors.unsupportedDatatype(datatype);
  const shape = parseShape(rawShape, name);
  const parameters = rawParameters === undefined ? undefined : parseParameters(rawParameters, 'parameters');
  return { name, datatype, shape, data, ...(parameters ? { parameters } : {}) };
}

function decodeInputData(input: ParsedInput, binary: BinarySection, headerGiven: boolean, text: () => string): InferRequestInput {
  const { name, datatype, shape, data, parameters } = input;

  const sources: string[] = [];
  if (data !== undefined) sources.push("'data'");
  if (parameters && 'binary_data_size' in parameters) sources.push("'binary_data_size'");
  if (parameters && 'shared_memory_region' in parameters) sources.push("'shared_memory_region'");
  if (sources.length !== 1) throw Errors.inputDataSources(name, sources);
  const shm = parseSharedMemoryParameters(name, withExactShmIntegers(parameters, text));
  if (shm.sharedMemory) {
    // The facade reads the bytes from the region.
    const input = { name, datatype, shape, sharedMemory: shm.sharedMemory };
    return shm.parameters ? { ...input, parameters: shm.parameters } : input;
  }

  const count = data !== undefined ? jsonInputElementCount(name, datatype, shape) : elementCount(shape);
  let tensorParameters = parameters;
  let tensor: Tensor;
  if (data !== undefined) {
    const decoded = data instanceof StreamedData ? data.finish(name, datatype, count) : tensorDataFromJson(name, datatype, count, data);
    tensor = { name, datatype, shape, data: decoded };
  } else {
    const { binary_data_size: byteSize, ...rest } = parameters as Parameters;
    if (!isUnsignedInteger(byteSize)) throw Errors.badField('binary_data_size', `expected a non-negative integer for input '${name}'`);
    if (byteSize > 0 && !headerGiven) throw Errors.binaryWithoutHeader();
    tensor = { name, datatype, shape, data: tensorDataFromRaw(name, binary.model, datatype, count, binary.take(name, byteSize)) };
    tensorParameters = Object.keys(rest).length > 0 ? rest : undefined;
  }
  return tensorParameters ? { ...tensor, parameters: tensorParameters } : tensor;
}

/** Most requests name no outputs: they share this (never written) instead of a map each. */
const NO_BINARY_OVERRIDES: ReadonlyMap<string, boolean> = new Map();

function decodeOutputs(value: unknown, text: () => string): { outputs?: RequestedOutput[]; binaryByName: ReadonlyMap<string, boolean> } {
  if (value === undefined) return { binaryByName: NO_BINARY_OVERRIDES };
  const binaryByName = new Map<string, boolean>();
  if (!Array.isArray(value)) throw Errors.badField('outputs', 'expected an array');
  const outputs = value.map((entry: unknown, index): RequestedOutput => {
    if (!isJsonObject(entry)) throw Errors.badField('outputs', `output ${index} is not a JSON object`);
    if (typeof entry.name !== 'string') throw Errors.badField('name', `output ${index} needs a string 'name'`);
    if (entry.parameters === undefined) return { name: entry.name };
    const { binary_data: binaryData, ...rest } = parseParameters(entry.parameters, 'parameters');
    if (binaryData !== undefined) {
      if (typeof binaryData !== 'boolean') throw Errors.badField('binary_data', 'expected a boolean');
      binaryByName.set(entry.name, binaryData);
    }
    const { sharedMemory, parameters } = parseSharedMemoryParameters(
      entry.name,
      Object.keys(rest).length > 0 ? withExactShmIntegers(rest, text) : undefined,
    );
    return { name: entry.name, ...(parameters ? { parameters } : {}), ...(sharedMemory ? { sharedMemory } : {}) };
  });
  return { outputs, binaryByName };
}

/**
 * shared_memory_offset / shared_memory_byte_size are uint64 (Triton's AsUInt): past 2^53 JSON.parse rounds them, so take
 * their exact digits from the text, which Triton's offset and overflow errors quote.
 */
function withExactShmIntegers(parameters: Parameters | undefined, text: () => string): Parameters | undefined {
  if (!parameters) return parameters;
  for (const key of ['shared_memory_offset', 'shared_memory_byte_size']) {
    const value = parameters[key];
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
      parameters[key] = exactIntegerParameter(text(), key, value) ?? value;
    }
  }
  return parameters;
}

/**
 * Decode an infer request body. `jsonLength` is the parsed Inference-Header-Content-Length (undefined: no header,
 * the whole body is JSON). A length of 0 is a raw request: use decodeRawInferRequest instead.
 */
/** Called with the request id and the inputs' headers before any tensor is decoded (InferenceServiceApi.checkInferTarget). */
export type InputHeadersCheck = (rid: string | undefined, inputs: readonly ParsedInput[]) => void;

export function decodeInferRequest(body: Uint8Array, target: InferTarget, jsonLength?: number, check?: InputHeadersCheck): DecodedInferRequest {
  const buffer = asBuffer(body);
  const text = buffer.toString('utf8', 0, jsonLength ?? buffer.length);
  return decodeParsedRequest(parseJsonObject(text), buffer, target, jsonLength, check, () => text);
}

/**
 * decodeInferRequest for any body size: a JSON part from STREAM_JSON_MIN_BYTES on is parsed incrementally, its
 * tensors written as they stream (json-stream.ts), never blocking the event loop for long nor holding the elements
 * as JavaScript values.
 */
export async function decodeInferRequestAsync(body: Uint8Array, target: InferTarget, jsonLength?: number, check?: InputHeadersCheck): Promise<DecodedInferRequest> {
  const buffer = asBuffer(body);
  const length = jsonLength ?? buffer.length;
  if (length < STREAM_JSON_MIN_BYTES) return decodeInferRequest(body, target, jsonLength, check);
  const json = await parseInferJsonStreaming(buffer.subarray(0, length));
  return decodeParsedRequest(json, buffer, target, jsonLength, check, () => buffer.toString('utf8', 0, length));
}

function decodeParsedRequest(
  json: JsonObject,
  buffer: Buffer,
  target: InferTarget,
  jsonLength: number | undefined,
  check: InputHeadersCheck | undefined,
  text: () => string,
): DecodedInferRequest {
  const headerGiven = jsonLength !== undefined;
  const binary = new BinarySection(buffer, jsonLength, target.model);

  if (json.id !== undefined && typeof json.id !== 'string') throw Errors.badField('id', 'expected a string');
  if (!Array.isArray(json.inputs)) throw Errors.badField('inputs', 'expected an array of input tensors');
  const { parameters, binaryByDefault } = parseRequestParameters(json.parameters);
  const sequenceId = parameters?.sequence_id;
  if (typeof sequenceId === 'number' && Number.isInteger(sequenceId) && !Number.isSafeInteger(sequenceId)) {
    parameters!.sequence_id = exactIntegerParameter(text(), 'sequence_id', sequenceId) ?? sequenceId;
  }
  const parsedInputs = json.inputs.map(parseInput);
  check?.(json.id as string | undefined, parsedInputs);
  const inputs = parsedInputs.map((input) => decodeInputData(input, binary, headerGiven, text));
  if (binary.remaining() !== 0) throw Errors.binaryTrailingData(target.model);
  const { outputs, binaryByName } = decodeOutputs(json.outputs, text);

  const request: InferRequest = {
    model: target.model,
    ...(target.version ? { version: target.version } : {}),
    ...(json.id !== undefined ? { id: json.id as string } : {}),
    ...(parameters ? { parameters } : {}),
    inputs,
    ...(outputs ? { outputs } : {}),
  };
  return { request, outputEncoding: { binaryByDefault, binaryByName } };
}

/** What a raw request needs to know of its model: its inputs (metadata shapes) and whether it batches. */
export interface RawRequestModel {
  readonly inputs: readonly TensorMetadata[];
  /** The metadata shapes' leading -1 is the batch dimension. */
  readonly batched: boolean;
}

/**
 * Triton's raw binary request (Inference-Header-Content-Length: 0): the whole body is the data of the model's only
 * input, its shape deduced as Triton's core does: batch 1 when the model batches, the one variable dimension from the
 * body size (at most one may vary). A BYTES input must have shape [1]: the body is that one element, without a length
 * prefix. Outputs are binary.
 */
export function decodeRawInferRequest(body: Uint8Array, target: InferTarget, model: RawRequestModel): DecodedInferRequest {
  if (model.inputs.length !== 1) throw Errors.rawInputCount(target.model, model.inputs.length);
  const [input] = model.inputs;
  const dims = model.batched ? input.shape.slice(1) : input.shape;
  const shape = model.batched ? [1, ...dims] : [...dims];
  const variableAt = shape.findIndex((dim, index) => dim < 0 && (!model.batched || index > 0));
  if (variableAt >= 0 && shape.slice(variableAt + 1).some((dim) => dim < 0)) throw Errors.rawInputShapeUndeducible(input.name);
  const fixedCount = elementCount(dims.filter((dim) => dim >= 0));
  let data: Tensor['data'];
  if (input.datatype === 'BYTES') {
    if (variableAt >= 0 || fixedCount !== 1) throw Errors.rawBytesInputShape(input.name);
    const element = Buffer.allocUnsafe(4 + body.byteLength);
    element.writeUInt32LE(body.byteLength, 0);
    element.set(body, 4);
    data = BytesData.fromSerialized(element)!;
  } else {
    const rowBytes = fixedCount * DATATYPES[input.datatype].byteSize;
    if (variableAt >= 0) shape[variableAt] = rowBytes === 0 ? 0 : Math.floor(body.byteLength / rowBytes);
    data = tensorDataFromRaw(input.name, target.model, input.datatype, elementCount(shape), body);
  }
  const request: InferRequest = {
    model: target.model,
    ...(target.version ? { version: target.version } : {}),
    inputs: [{ name: input.name, datatype: input.datatype, shape, data }],
  };
  return { request, outputEncoding: { binaryByDefault: true, binaryByName: new Map() } };
}

function isBinaryOutput(name: string, encoding: OutputEncoding): boolean {
  return encoding.binaryByName.get(name) ?? encoding.binaryByDefault;
}

/** Response parameters as JSON; a 64-bit integer beyond 2^53 (a bigint: an ensemble's sequence_id) as its digits. */
function parametersJson(parameters: Parameters): string {
  const members = Object.entries(parameters).map(
    ([key, value]) => `${JSON.stringify(key)}:${typeof value === 'bigint' ? value.toString() : JSON.stringify(value)}`,
  );
  return `{${members.join(',')}}`;
}

/**
 * Encode a response as Triton does: `id` (when set), `model_name`, `model_version`, `parameters` (when any) and
 * `outputs` with `data` inline, or `parameters.binary_data_size` with the bytes after the JSON.
 */
export function encodeInferResponse(response: InferResponse, encoding: OutputEncoding): EncodedInferResponse {
  let json = '{';
  if (response.id) json += `"id":${JSON.stringify(response.id)},`;
  json += `"model_name":${JSON.stringify(response.model)},"model_version":${JSON.stringify(String(response.version))}`;
  if (response.parameters && Object.keys(response.parameters).length > 0) {
    json += `,"parameters":${parametersJson(response.parameters)}`;
  }
  json += ',"outputs":[';
  const binaryParts: Uint8Array[] = [];
  // JSON written before a BYTES output whose elements are not UTF-8 (kept as bytes, see bytesDataToJson).
  const jsonBefore: Buffer[] = [];
  for (let i = 0; i < response.outputs.length; i++) {
    const output = response.outputs[i];
    if (output.data.length !== elementCount(output.shape)) throw Errors.outputSizeMismatch(output.name);
    json += `${i === 0 ? '' : ','}{"name":${JSON.stringify(output.name)},"datatype":"${output.datatype}","shape":[${output.shape.join(',')}]`;
    if (output.sharedMemory) {
      // Already written into the client's region: only its metadata travels.
      json += `,"parameters":${JSON.stringify(sharedMemoryParameters(output.sharedMemory))}}`;
    } else if (isBinaryOutput(output.name, encoding)) {
      const bytes = rawBytesOf(output.data);
      binaryParts.push(bytes);
      json += `,"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    } else {
      const data = tensorDataToJson(output.datatype, output.data);
      if (typeof data === 'string') {
        json += `,"data":${data}}`;
      } else {
        jsonBefore.push(Buffer.from(`${json},"data":`), data);
        json = '}';
      }
    }
  }
  json += ']}';
  if (binaryParts.length === 0 && jsonBefore.length === 0) return { body: json, contentType: JSON_CONTENT_TYPE };

  const header = Buffer.concat([...jsonBefore, Buffer.from(json, 'utf8')]);
  if (binaryParts.length === 0) return { body: header, contentType: JSON_CONTENT_TYPE };
  const body = Buffer.concat([header, ...binaryParts]);
  return { body, contentType: BINARY_CONTENT_TYPE, inferenceHeaderLength: header.byteLength };
}
