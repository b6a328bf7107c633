/**
 * ModelInferRequest / ModelInferResponse messages ↔ core requests and responses. Pure functions.
 *
 * Inputs carry their data either all in `raw_input_contents` (one entry per input, Triton clients' way) or each in its
 * typed `contents` (KServe clients' way). Outputs always go in `raw_output_contents`, one entry per output, as Triton
 * sends them: tritonclient's as_numpy reads only that field for numeric outputs.
 */
import { elementCount, isDataType } from '../../core/datatypes';
import { Errors } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import { parseSharedMemoryParameters, sharedMemoryParameters } from '../../core/shared-memory-tensors';
import type { InferenceServiceApi } from '../../core/service-api';
import type { InferRequest, InferRequestInput, InferResponse, Parameters, ParameterValue, RequestedOutput } from '../../core/types';
import type {
  InferInputTensorMessage,
  InferOutputTensorMessage,
  Int64,
  ModelInferRequestMessage,
  ModelInferResponseMessage,
  ParameterMap,
} from './messages';
import { contentsWireHasElements, dataFromContentsWire } from './contents-wire';
import { CONTENTS_FIELD, dataFromContents, hasContents, rawFromData } from './tensor-contents';
import { bytesCountError, tensorDataFromRaw } from '../../core/raw-tensor';

export interface DecodedGrpcRequest {
  readonly request: InferRequest;
}

/** InferParameter map → core parameters (64-bit integers as numbers, or bigint past 2^53 so uint64 ids stay intact). */
export function decodeParameters(map: ParameterMap | undefined): Parameters | undefined {
  if (!map) return undefined;
  const keys = Object.keys(map);
  if (keys.length === 0) return undefined;
  const parameters: Record<string, ParameterValue> = {};
  for (const key of keys) {
    const parameter = map[key];
    switch (parameter.parameter_choice) {
      case 'bool_param':
        parameters[key] = parameter.bool_param === true;
        break;
      case 'int64_param':
        parameters[key] = exactInteger(parameter.int64_param);
        break;
      case 'uint64_param':
        parameters[key] = exactInteger(parameter.uint64_param);
        break;
      case 'double_param':
        parameters[key] = Number(parameter.double_param);
        break;
      case 'string_param':
        parameters[key] = parameter.string_param ?? '';
        break;
      default:
        throw Errors.invalidParameterType(key);
    }
  }
  return parameters;
}

/** A 64-bit integer (a decimal string from the proto loader) as a number when exact, else as a bigint. */
function exactInteger(value: Int64 | undefined): number | bigint {
  const asNumber = Number(value ?? 0);
  if (Number.isSafeInteger(asNumber)) return asNumber;
  try {
    return BigInt(value ?? 0);
  } catch {
    return asNumber;
  }
}

/** Core parameters → InferParameter map (integers as int64_param, other numbers as double_param). */
export function encodeParameters(parameters: Parameters | undefined): ParameterMap {
  const map: ParameterMap = {};
  if (!parameters) return map;
  for (const [key, value] of Object.entries(parameters)) {
    if (typeof value === 'boolean') map[key] = { bool_param: value };
    else if (typeof value === 'string') map[key] = { string_param: value };
    else if (typeof value === 'bigint') map[key] = value < 0n ? { int64_param: String(value) } : { uint64_param: String(value) };
    else if (Number.isSafeInteger(value)) map[key] = { int64_param: value };
    else map[key] = { double_param: value };
  }
  return map;
}

function decodeShape(name: string, shape: readonly Int64[]): number[] {
  const dims = new Array<number>(shape.length);
  for (let i = 0; i < shape.length; i++) {
    const dim = Number(shape[i]);
    if (!Number.isSafeInteger(dim) || dim < 0) throw Errors.badShapeDim(name, String(shape[i]));
    dims[i] = dim;
  }
  return dims;
}

/** Called with the request id and the inputs' headers before any tensor is decoded (InferenceServiceApi.checkInferTarget). */
export type InputHeadersCheck = (rid: string | undefined, inputs: readonly { name: string; datatype: string }[]) => void;

/** Typed contents in either form: the server's wire bytes (contents-wire.ts) or a decoded message (tests, clients). */
function inputHasContents(input: InferInputTensorMessage): boolean {
  if (input.contents_wire && input.contents_wire.length > 0) return contentsWireHasElements(input.name, input.contents_wire);
  return hasContents(input.contents);
}

/** The facade's early check for this message's model and version. */
export function checkWith(service: Pick<InferenceServiceApi, 'checkInferTarget'>, message: ModelInferRequestMessage): InputHeadersCheck {
  return (rid, inputs) => service.checkInferTarget(message.model_name, message.model_version || undefined, rid, inputs);
}

export function decodeInferRequest(message: ModelInferRequestMessage, check?: InputHeadersCheck): DecodedGrpcRequest {
  const model = message.model_name;
  const raw = message.raw_input_contents ?? [];
  const useRaw = raw.length > 0;
  const parameters = decodeParameters(message.parameters);
  // raw_input_contents holds one entry per input that is not in shared memory, in input order (as Triton reads it).
  const parsedParameters = message.inputs.map((input) => parseSharedMemoryParameters(input.name, decodeParameters(input.parameters)));
  const inline = parsedParameters.filter((parsed) => !parsed.sharedMemory).length;
  if (useRaw && raw.length !== inline) throw Errors.rawContentsCount(model, inline, raw.length);
  for (const input of message.inputs) {
    if (!isDataType(input.datatype)) throw Errors.unsupportedDatatype(input.datatype);
    // Errors of the request's form come before the model's checks, as they did when contents were decoded first.
    if (CONTENTS_FIELD[input.datatype] === undefined && inputHasContents(input)) throw Errors.contentsNoTypedField(input.name, input.datatype);
  }
  check?.(message.id || undefined, message.inputs);
  if (useRaw) {
    const inlineInputs = message.inputs.filter((_, index) => !parsedParameters[index].sharedMemory);
    const counted = inlineInputs.map((input, index) => ({ name: input.name, datatype: input.datatype, count: elementCount(decodeShape(input.name, input.shape)), bytes: raw[index] }));
    const error = bytesCountError(model, counted);
    if (error) throw error;
  }

  let rawIndex = 0;
  const inputs = message.inputs.map((input, index): InferRequestInput => {
    const { name } = input;
    if (!isDataType(input.datatype)) throw Errors.unsupportedDatatype(input.datatype);
    const datatype = input.datatype;
    const shape = decodeShape(name, input.shape);
    const { sharedMemory, parameters: inputParameters } = parsedParameters[index];
    if (sharedMemory) {
      if (inputHasContents(input)) throw Errors.contentsWithSharedMemory(name, model);
      const tensor = { name, datatype, shape, sharedMemory };
      return inputParameters ? { ...tensor, parameters: inputParameters } : tensor;
    }
    const count = elementCount(shape);
    let data: Tensor['data'];
    if (useRaw) {
      if (inputHasContents(input)) throw Errors.contentsWithRaw(name, model);
      data = tensorDataFromRaw(name, model, datatype, count, raw[rawIndex++]);
    } else if (input.contents_wire && input.contents_wire.length > 0 && inputHasContents(input)) {
      data = dataFromContentsWire(name, datatype, count, input.contents_wire);
    } else if (hasContents(input.contents)) {
      data = dataFromContents(name, datatype, input.contents!);
      if (data.length !== count) throw Errors.elementCountMismatch(name, count, data.length);
    } else if (count === 0) {
      data = tensorDataFromRaw(name, model, datatype, 0, new Uint8Array(0));
    } else {
      throw Errors.contentsMissing(name, model);
    }
    const tensor = { name, datatype, shape, data };
    return inputParameters ? { ...tensor, parameters: inputParameters } : tensor;
  });

  let outputs: RequestedOutput[] | undefined;
  if (message.outputs && message.outputs.length > 0) {
    outputs = message.outputs.map((output): RequestedOutput => {
      const outputParameters = decodeParameters(output.parameters);
      if (!outputParameters) return { name: output.name };
      // binary_data is the HTTP frontend's business; gRPC output data is always binary-safe.
      const { binary_data: _binary, ...rest } = outputParameters;
      const { sharedMemory, parameters } = parseSharedMemoryParameters(output.name, Object.keys(rest).length > 0 ? rest : undefined);
      return { name: output.name, ...(parameters ? { parameters } : {}), ...(sharedMemory ? { sharedMemory } : {}) };
    });
  }

  const request: InferRequest = {
    model,
    ...(message.model_version ? { version: message.model_version } : {}),
    ...(message.id ? { id: message.id } : {}),
    ...(parameters ? { parameters } : {}),
    inputs,
    ...(outputs ? { outputs } : {}),
  };
  return { request };
}

const EMPTY = Buffer.alloc(0);

export function encodeInferResponse(response: InferResponse): ModelInferResponseMessage {
  const outputs: InferOutputTensorMessage[] = new Array(response.outputs.length);
  const rawContents: Buffer[] = new Array(response.outputs.length);
  for (let i = 0; i < response.outputs.length; i++) {
    const output = response.outputs[i];
    if (output.data.length !== elementCount(output.shape)) throw Errors.outputSizeMismatch(output.name);
    if (output.sharedMemory) {
      // Written into the client's region. Triton still adds an (empty) raw_output_contents entry for it, which keeps
      // raw_output_contents[i] lined up with outputs[i] for clients that index one by the other.
      outputs[i] = { name: output.name, datatype: output.datatype, shape: output.shape, parameters: encodeParameters(sharedMemoryParameters(output.sharedMemory)) };
      rawContents[i] = EMPTY;
      continue;
    }
    outputs[i] = { name: output.name, datatype: output.datatype, shape: output.shape };
    rawContents[i] = rawFromData(output.data);
  }
  const message: ModelInferResponseMessage = {
    model_name: response.model,
    model_version: String(response.version),
    id: response.id ?? '',
    outputs,
    raw_output_contents: rawContents,
  };
  if (response.parameters && Object.keys(response.parameters).length > 0) message.parameters = encodeParameters(response.parameters);
  return message;
}
