/**
 * The one error catalogue. Every failure that reaches a client is an InferenceError built here; each frontend maps
 * `code` to its status in exactly one function (HTTP: protocol/http/errors.ts).
 * Codes and messages follow Triton's core so clients that match on them keep working.
 */

import type { FailureReason } from './observer';

export type ErrorCode =
  | 'INVALID_ARG'
  | 'NOT_FOUND'
  | 'UNAVAILABLE'
  | 'UNSUPPORTED'
  | 'INTERNAL'
  | 'ALREADY_EXISTS'
  | 'CANCELLED'
  | 'TOO_LARGE';

export class InferenceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** How nv_inference_request_failure counts it when it fails a request: REJECTED, BACKEND, ... (default OTHER). */
    readonly failureReason: FailureReason = 'OTHER',
  ) {
    super(message);
    this.name = 'InferenceError';
  }
}

export function isInferenceError(error: unknown): error is InferenceError {
  return error instanceof InferenceError;
}

/** Wrap anything thrown into an InferenceError, keeping the message. */
export function toInferenceError(error: unknown, code: ErrorCode = 'INTERNAL'): InferenceError {
  if (error instanceof InferenceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InferenceError(code, message);
}

const unknownModel = 'Request for unknown model: ';
const USE_MAX_INPUT_SIZE = 'Use --http-max-input-size to increase the limit.';

/** Triton prefixes request errors with the request's id, or <id_unknown> when it has none. */
const requestTag = (rid: string | undefined) => `[request id: ${rid === undefined || rid === '' ? '<id_unknown>' : rid}]`;
const quotedList = (names: string[]) => `[${names.map((n) => `'${n}'`).join(',')}]`;

export const Errors = {
  modelNotFound: (model: string) => new InferenceError('NOT_FOUND', `${unknownModel}'${model}' is not found`),
  noAvailableVersions: (model: string) =>
    new InferenceError('NOT_FOUND', `${unknownModel}'${model}' has no available versions`),
  versionNotFound: (model: string, version: string) =>
    new InferenceError('NOT_FOUND', `${unknownModel}'${model}' version ${version} is not found`),
  versionNotReady: (model: string, version: string) =>
    new InferenceError('UNAVAILABLE', `${unknownModel}'${model}' version ${version} is not at ready state`),
  badVersion: (version: string) =>
    new InferenceError('INVALID_ARG', `failed to parse model version '${version}': expected a positive integer`),
  serverNotReady: () => new InferenceError('UNAVAILABLE', 'Server not ready'),
  /** --http-header-forward-pattern / --grpc-header-forward-pattern matched a reserved parameter name. */
  headerReserved: (header: string) =>
    new InferenceError('INVALID_ARG', `Header '${header}' is reserved for Triton usage and cannot be forwarded.`),
  /** --grpc-restricted-protocol: the call lacks the header (Triton's grpc_server.cc, UNAVAILABLE). */
  protocolRestricted: (header: string) =>
    new InferenceError('UNAVAILABLE', `This protocol is restricted, expecting header '${header}'`),
  serverShuttingDown: () => new InferenceError('UNAVAILABLE', 'Server is stopping, request is refused'),

  unexpectedInput: (rid: string | undefined, model: string, input: string, allowed: string[]) =>
    new InferenceError(
      'INVALID_ARG',
      `${requestTag(rid)} unexpected inference input '${input}' for model '${model}', allowed inputs are: ${allowed.join(', ')}`,
    ),
  /** `required` of `total` inputs are not optional; Triton words the count as a range when some are. */
  missingInputs: (rid: string | undefined, model: string, required: number, total: number, got: string[], missing: string[]) =>
    new InferenceError(
      'INVALID_ARG',
      `${requestTag(rid)} expected ${required === total ? String(total) : `number of inputs between ${required} and ${total} but got`}` +
        `${required === total ? ' inputs but got' : ''} ${got.length} inputs for model '${model}'. Got input(s) ${quotedList(got)}, ` +
        `but missing required input(s) ${quotedList(missing)}. Please provide all required input(s).`,
    ),
  duplicateInput: (input: string) => new InferenceError('INVALID_ARG', `input '${input}' already exists in request`),
  duplicateOutput: (rid: string | undefined, output: string) =>
    new InferenceError('INVALID_ARG', `${requestTag(rid)} output '${output}' already exists in request`),
  unexpectedOutput: (model: string, output: string) =>
    new InferenceError('INVALID_ARG', `unexpected inference output '${output}' for model '${model}'`),
  datatypeMismatch: (rid: string | undefined, model: string, input: string, expected: string, got: string) =>
    new InferenceError(
      'INVALID_ARG',
      `${requestTag(rid)} inference input '${input}' data-type is '${got}', but model '${model}' expects '${expected}'`,
    ),
  /** `batching`: the model's max_batch_size > 0, where Triton adds a note on the batch dimension. */
  shapeMismatch: (rid: string | undefined, model: string, input: string, expected: string, got: string, batching = false) =>
    new InferenceError(
      'INVALID_ARG',
      `${requestTag(rid)} unexpected shape for input '${input}' for model '${model}'. Expected ${expected}, got ${got}. ` +
        (batching
          ? 'NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to be prepended to each ' +
            'input shape. If you want to specify the full shape including the batch dim in your input dims config, try ' +
            'setting max_batch_size to zero. See the model configuration docs for more info on max_batch_size.'
          : ''),
    ),
  batchTooLarge: (rid: string | undefined, model: string, max: number) =>
    new InferenceError('INVALID_ARG', `${requestTag(rid)} inference request batch-size must be <= ${max} for '${model}'`),
  batchMismatch: (rid: string | undefined, model: string, input: string) =>
    new InferenceError('INVALID_ARG', `${requestTag(rid)} input '${input}' batch size does not match other inputs for '${model}'`),
  noBatchDimension: (rid: string | undefined, model: string, input: string) =>
    new InferenceError('INVALID_ARG', `${requestTag(rid)} input '${input}' has no shape but model requires batch dimension for '${model}'`),
  elementCountMismatch: (input: string, expected: number, got: number) =>
    new InferenceError(
      'INVALID_ARG',
      `unexpected number of elements for input '${input}': shape implies ${expected}, data holds ${got}`,
    ),
  /** Current Triton core's wording (ValidateRequestInputs); shared memory inputs use it, as L0_shared_memory checks. */
  inputByteSizeMismatch: (input: string, model: string, expected: number, got: number) =>
    new InferenceError('INVALID_ARG', `input byte size mismatch for input '${input}' for model '${model}'. Expected ${expected}, got ${got}`),
  /** Triton core's texts (ValidateBytesInputs): it stops counting at one element past the shape's count. */
  bytesElementCount: (input: string, model: string, expected: number, got: number) =>
    new InferenceError(
      'INVALID_ARG',
      got < expected
        ? `expected ${expected} string elements for inference input '${input}' for model '${model}', got ${got}`
        : `unexpected number of string elements ${expected + 1} for inference input '${input}' for model '${model}', expecting ${expected}`,
    ),
  unsupportedDatatype: (datatype: string) =>
    new InferenceError('INVALID_ARG', `invalid datatype '${datatype}'`),
  datatypeNotRunnable: (datatype: string, backend: string) =>
    new InferenceError('UNSUPPORTED', `datatype ${datatype} is not supported by the ${backend} backend`),
  invalidRequest: (detail: string) => new InferenceError('INVALID_ARG', detail),
  badJson: (detail: string) => new InferenceError('INVALID_ARG', `failed to parse the request JSON buffer: ${detail}`),
  badBinaryHeader: (detail: string) => new InferenceError('INVALID_ARG', detail),
  /** A body over --http-max-input-size: Triton's words (and 400). `size` undefined: only known to be over the limit. */
  bodyTooLarge: (limit: number, size?: number) =>
    new InferenceError(
      'INVALID_ARG',
      `request JSON size of ${size ?? `more than ${limit}`} bytes exceeds the maximum allowed input size of ${limit} bytes. ${USE_MAX_INPUT_SIZE}`,
    ),
  decompressedTooLarge: (limit: number) =>
    new InferenceError('INVALID_ARG', `Decompressed data size exceeds the maximum allowed value of ${limit} bytes. ${USE_MAX_INPUT_SIZE}`),
  rawInputTooLarge: (limit: number, size?: number) =>
    new InferenceError(
      'INVALID_ARG',
      `Raw input has a byte_size (${size ?? `more than ${limit}`} bytes) that exceeds the maximum allowed value of ${limit} bytes. ${USE_MAX_INPUT_SIZE}`,
    ),
  unsupportedEncoding: (encoding: string) =>
    new InferenceError('UNSUPPORTED', `unsupported Content-Encoding '${encoding}'`),
  notFoundRoute: (method: string, url: string) => new InferenceError('NOT_FOUND', `Not Found: ${method} ${url}`),

  modelPathOutside: (setting: string, name: string) =>
    new InferenceError(
      'INVALID_ARG',
      `${setting} '${name}' is not inside the model's folder: a path in a model config must name a file in the model's folder, symbolic links included`,
    ),
  tooManyInstances: (model: string, asked: number, limit: number) =>
    new InferenceError(
      'INVALID_ARG',
      `instance_group of model '${model}' asks for ${asked} instances; this server starts at most ${limit} per model version (--max-instances-per-model)`,
    ),
  modelNameEmpty: () => new InferenceError('INVALID_ARG', 'Model name cannot be empty. Please enter a valid name to deploy.'),
  modelNameTraversal: (name: string) =>
    new InferenceError('INVALID_ARG', `invalid model name '${name}', model name must not contain path traversal characters`),
  /** Triton's text and code (INTERNAL) when a load's model files cannot be read or, for `file:` parameters, written. */
  loadPollFailed: (model: string, detail: string) =>
    new InferenceError('INTERNAL', `failed to load '${model}', failed to poll from model repository: ${detail}`),
  loadFailed: (model: string, reason: string) =>
    new InferenceError('INVALID_ARG', `failed to load '${model}': ${reason}`),
  /** Load/unload outside explicit mode: Triton says "polling" for mode none as well, and clients match the text. */
  modelControlDisabled: () =>
    new InferenceError(
      'UNAVAILABLE',
      'explicit model load / unload is not allowed if polling is enabled',
    ),
  unloadNotServed: () => new InferenceError('INVALID_ARG', 'Model to be unloaded has not been served'),
  backendFailed: (model: string, detail: string) =>
    new InferenceError('INTERNAL', `model '${model}' failed to execute: ${detail}`, 'BACKEND'),
  instanceLost: (model: string) =>
    new InferenceError('UNAVAILABLE', `model '${model}' instance stopped while executing the request`, 'BACKEND'),
  queueFull: () => new InferenceError('UNAVAILABLE', 'Exceeds maximum queue size', 'REJECTED'),
  timeout: () => new InferenceError('UNAVAILABLE', 'Request timeout expired', 'REJECTED'),
  unloading: (model: string) =>
    new InferenceError('UNAVAILABLE', `model '${model}' is being unloaded, request is refused`),

  // Sequence batcher (scheduler/sequence-batcher.ts); wording follows Triton's sequence_batch_scheduler.cc.
  sequenceIdMissing: (model: string) =>
    new InferenceError('INVALID_ARG', `inference request to model '${model}' must specify a non-zero or non-empty correlation ID`),
  sequenceNotStarted: (sequence: string, model: string) =>
    new InferenceError(
      'INVALID_ARG',
      `inference request for sequence ${sequence} to model '${model}' must specify the START flag on the first request of the sequence`,
    ),
  sequenceBatchSize: (model: string) =>
    new InferenceError(
      'INVALID_ARG',
      `inference request to model '${model}' must specify batch-size 1 due to requirements of sequence batcher`,
    ),
  sequenceIdTypeMismatch: (rid: string | undefined, control: string, expected: string, got: string) =>
    new InferenceError(
      'INVALID_ARG',
      `${requestTag(rid)} sequence batching control '${control}' data-type is '${expected}', but request CORRID has type '${got}'`,
    ),
  badSequenceParameter: (name: string, expected: string) =>
    new InferenceError('INVALID_ARG', `Unable to parse '${name}': expected ${expected}`),
  // Ensembles (scheduler/ensemble-scheduler.ts, repository/ensemble-loading.ts).
  /** A step's failure as the ensemble request reports it: Triton names the ensemble first; code and reason stay. */
  inEnsemble: (ensemble: string, cause: InferenceError) =>
    new InferenceError(cause.code, `in ensemble '${ensemble}', ${cause.message}`, cause.failureReason),
  ensembleRunnerMissing: (ensemble: string) =>
    new InferenceError('UNAVAILABLE', `ensemble '${ensemble}' cannot run: no inference service is attached to run its steps`),

  // HTTP/REST request decoding (protocol/http/codec.ts); wording follows Triton's HTTP frontend.
  badField: (field: string, detail?: string) =>
    new InferenceError('INVALID_ARG', `Unable to parse '${field}'${detail ? `: ${detail}` : ''}`),
  invalidValue: (field: string, expected: string) => new InferenceError('INVALID_ARG', `Invalid value for '${field}': expected ${expected}`),
  badTensorData: (input: string, detail: string) =>
    new InferenceError('INVALID_ARG', `Unable to parse 'data' of input '${input}': ${detail}`),
  /** A JSON element of the wrong type: TritonJson's words ("attempt to access JSON non-string as string"). */
  jsonElementType: (expected: 'string' | 'boolean' | 'signed-integer' | 'unsigned-integer' | 'number', input: string) =>
    new InferenceError(
      'INVALID_ARG',
      `Unable to parse 'data': attempt to access JSON non-${expected} as ${expected === 'number' ? 'double' : expected} (input '${input}')`,
    ),
  jsonNestingTooDeep: (limit: number) =>
    new InferenceError('INVALID_ARG', `JSON nesting depth exceeds maximum allowed limit (${limit})`),
  shapeCountOverflow: (input: string, shape: readonly number[]) =>
    new InferenceError(
      'INVALID_ARG',
      `invalid shape for input '${input}': shape [${shape.join(',')}] causes total element count to exceed maximum size of 9223372036854775807`,
    ),
  shapeByteSizeOverflow: (input: string, count: bigint, typeSize: number) =>
    new InferenceError(
      'INVALID_ARG',
      `byte size overflow for input '${input}': element count (${count}) * data type size (${typeSize}) exceeds maximum allowed size (9223372036854775807)`,
    ),
  /** A negative or fractional dimension in an HTTP request: TritonJson's words, and its INTERNAL code (500) as Triton. */
  shapeNotUnsigned: () =>
    new InferenceError('INTERNAL', "Unable to parse 'shape': attempt to access JSON non-unsigned-integer as unsigned-integer"),
  inputDataSources: (input: string, set: string[]) =>
    new InferenceError(
      'INVALID_ARG',
      `Input '${input}' must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', ` +
        `'shared_memory_region' in 'parameters'. But ${set.length === 0 ? 'no field is set' : `set ${set.join(' ')}`}`,
    ),
  jsonDatatypeUnsupported: (datatype: string, input: string) =>
    new InferenceError(
      'INVALID_ARG',
      `receiving ${datatype} data via JSON is not supported. Please use the binary data format for input ${input}`,
    ),
  invalidParameterType: (name: string) =>
    new InferenceError(
      'INVALID_ARG',
      `parameter '${name}' has invalid type. It should be either 'int', 'bool', or 'string'.`,
    ),
  reservedParameter: () =>
    new InferenceError(
      'INVALID_ARG',
      "parameter keys starting with 'triton_' are reserved for Triton usage and should not be specified.",
    ),
  badInferenceHeaderLength: (value: string, bodyLength: number) =>
    new InferenceError(
      'INVALID_ARG',
      `Unable to parse Inference-Header-Content-Length: expected an integer in range [0, ${bodyLength}], got: ${value}`,
    ),
  binaryWithoutHeader: () =>
    new InferenceError(
      'INVALID_ARG',
      "must specify valid 'Inference-Header-Content-Length' in request header and 'binary_data_size' when passing " +
        'inputs in binary data format',
    ),
  binaryInputTruncated: (input: string, model: string, missing: number) =>
    new InferenceError(
      'INVALID_ARG',
      `unexpected size for input '${input}', expecting ${missing} additional bytes for model '${model}'`,
    ),
  binaryTrailingData: (model: string) =>
    new InferenceError('INVALID_ARG', `unexpected additional input data for model '${model}'`),
  badBytesFraming: (input: string) =>
    new InferenceError(
      'INVALID_ARG',
      `malformed BYTES data for input '${input}': each element must be a 4-byte little-endian length followed by that many bytes`,
    ),
  rawInputCount: (model: string, configInputs: number) =>
    new InferenceError(
      'INVALID_ARG',
      `Raw request must only have 1 input (found 1) to be deduced but got ${configInputs} inputs in '${model}' model configuration`,
    ),
  rawInputShapeUndeducible: (input: string) =>
    new InferenceError(
      'INVALID_ARG',
      `The shape of the raw input '${input}' can not be deduced because there are more than one variable-sized dimension`,
    ),
  rawBytesInputShape: (input: string) =>
    new InferenceError('INVALID_ARG', `For BYTE datatype raw input '${input}', the model must have input shape [1]`),
  outputSizeMismatch: (output: string) =>
    new InferenceError('INTERNAL', `output tensor shape does not match size of output for '${output}'`),
  classificationUnsupportedType: (datatype: string) =>
    new InferenceError('INVALID_ARG', `class result not available for output due to unsupported type '${datatype}'`),
  classificationTooLarge: () => new InferenceError('INVALID_ARG', 'classification output tensor too large'),
  badLoadParameter: (name: string) =>
    new InferenceError('INVALID_ARG', `unexpected load parameter '${name}': only 'config' and 'file:<path>' are supported`),
  decompressFailed: (encoding: string, detail: string) =>
    new InferenceError('INVALID_ARG', `failed to decompress the ${encoding} request body: ${detail}`),

  // gRPC request decoding (protocol/grpc/codec.ts).
  rawContentsCount: (model: string, inputs: number, raw: number) =>
    new InferenceError(
      'INVALID_ARG',
      `expected ${inputs} entries in raw_input_contents (one per input) for model '${model}', got ${raw}`,
    ),
  contentsWithRaw: (input: string, model: string) =>
    new InferenceError(
      'INVALID_ARG',
      `contents field must not be specified when using raw_input_contents for '${input}' for model '${model}'`,
    ),
  contentsWithSharedMemory: (input: string, model: string) =>
    new InferenceError(
      'INVALID_ARG',
      `contents field must not be specified for input '${input}' for model '${model}': its data is in shared memory`,
    ),
  contentsMissing: (input: string, model: string) =>
    new InferenceError('INVALID_ARG', `input '${input}' for model '${model}' has no data: set its contents or raw_input_contents`),
  contentsWrongField: (input: string, datatype: string, field: string) =>
    new InferenceError(
      'INVALID_ARG',
      `input '${input}' has datatype ${datatype}, so its data must be in ${field}; other contents fields must be empty`,
    ),
  contentsNoTypedField: (input: string, datatype: string) =>
    new InferenceError(
      'INVALID_ARG',
      `input '${input}': ${datatype} has no typed contents field, send its data in raw_input_contents`,
    ),
  badShapeDim: (input: string, dim: string) =>
    new InferenceError('INVALID_ARG', `invalid dimension ${dim} in the shape of input '${input}': expected a non-negative integer`),
  grpcUnimplemented: (rpc: string, detail: string) => new InferenceError('UNSUPPORTED', `${rpc} is not supported by this server: ${detail}`),

  // model_warmup (repository/warmup-samples.ts, warmup-runner.ts). Triton's wording where it has one.
  warmupInvalid: (sample: string, detail: string) =>
    new InferenceError('INVALID_ARG', `warmup sample '${sample}': ${detail}`),
  warmupFileTooSmall: (sample: string, file: string, expected: number, got: number) =>
    new InferenceError(
      'INVALID_ARG',
      `warmup sample '${sample}': warmup setting expects ${expected} bytes, but the data provided from ${file} only has ${got} bytes`,
    ),
  warmupFailed: (sample: string, detail: string) =>
    new InferenceError('INVALID_ARG', `failed to run warmup sample '${sample}': ${detail}; `),

  // Logging extension (core/log-settings.ts); Triton's HTTP and gRPC frontends' wording.
  logFileNotUpdatable: () =>
    new InferenceError('UNSUPPORTED', 'log file location can not be updated through network protocol'),
  logSettingType: (name: string, type: 'boolean' | 'int32' | 'string') =>
    new InferenceError('INVALID_ARG', `expect ${type} for '${name}'`),
  badLogFormat: (value: string) =>
    new InferenceError('INVALID_ARG', `invalid argument for log_format, got: ${value}`),
  // Trace extension (core/trace-manager.ts, trace-changes.ts). Wording and codes follow Triton's http_server.cc and
  // trace.cc; JSON type errors carry TritonJson's wording with INVALID_ARG (Triton answers them as INTERNAL).
  traceFileNotUpdatable: () =>
    new InferenceError('UNSUPPORTED', 'trace file location can not be updated through network protocol'),
  traceUnknownModel: (model: string) => new InferenceError('INVALID_ARG', `Request for unknown model : ${model}`),
  traceOffNotAlone: () => new InferenceError('INVALID_ARG', "Expect only one trace level 'OFF' is specified"),
  traceNotParsable: (name: string, got: string) => new InferenceError('INVALID_ARG', `Unable to parse '${name}', got: ${got}`),
  traceOutOfRange: (name: string, min: number, max: number, got: string) =>
    new InferenceError('INVALID_ARG', `Unable to parse '${name}', value is out of range [ ${min}, ${max} ], got: ${got}`),
  traceCountTooSmall: (min: number, got: string) =>
    new InferenceError('INVALID_ARG', `Unable to parse 'trace_count'. Expecting value >= ${min}, got:${got}`),
  traceInvalidSetting: (reason: string) =>
    new InferenceError('INVALID_ARG', `Attempting to set invalid trace setting :${reason}`),
  traceJsonType: (expected: 'string' | 'array') =>
    new InferenceError('INVALID_ARG', `attempt to access JSON non-${expected} as ${expected}`),
  // Shared memory extension (core/shared-memory.ts). Wording and codes follow Triton's shared_memory_manager.cc.
  shmAlreadyRegistered: (name: string) =>
    new InferenceError('ALREADY_EXISTS', `shared memory region '${name}' already in manager`),
  shmOpenFailed: (key: string) => new InferenceError('INTERNAL', `Unable to open shared memory region: '${key}'`),
  shmInvalidKey: (name: string, key: string) =>
    new InferenceError('INVALID_ARG', `cannot register shared memory region '${name}' - invalid shm key '${key}'`),
  shmReservedKey: (name: string, key: string, prefix: string) =>
    new InferenceError(
      'INVALID_ARG',
      `cannot register shared memory region '${name}' with key '${key}' as the key contains the reserved prefix '${prefix}'`,
    ),
  shmRegionReplaced: (name: string, key: string) =>
    new InferenceError(
      'INTERNAL',
      `shared memory region '${name}': the object '${key}' was removed or replaced since it was registered; register it again`,
    ),
  shmRegisterInvalidArgs: (name: string) =>
    new InferenceError('INVALID_ARG', `failed to register shared memory region '${name}': invalid args`),
  shmStatusNotFound: (name: string) =>
    new InferenceError('NOT_FOUND', `Unable to find system shared memory region: '${name}'`),
  cudaShmStatusNotFound: (name: string) =>
    new InferenceError('NOT_FOUND', `Unable to find cuda shared memory region: '${name}'`),
  shmRegionNotFound: (name: string) => new InferenceError('NOT_FOUND', `Unable to find shared memory region: '${name}'`),
  shmInvalidOffset: (name: string) =>
    new InferenceError('INVALID_ARG', `Invalid offset for shared memory region: '${name}'`),
  shmIntegerOverflow: (name: string, byteSize: number | bigint, offset: number | bigint, max: bigint) =>
    new InferenceError(
      'INVALID_ARG',
      `Integer overflow detected: byte_size (${byteSize}) + offset (${offset}) exceeds maximum value (${max}) for region '${name}'`,
    ),
  shmInvalidOffsetAndSize: (name: string) =>
    new InferenceError('INVALID_ARG', `Invalid offset + byte size for shared memory region: '${name}'`),
  shmOutputTooSmall: (output: string, regionBytes: number, outputBytes: number) =>
    new InferenceError(
      'INTERNAL',
      `shared memory size specified with the request for output '${output}' (${regionBytes} bytes) should be at least ${outputBytes} bytes to hold the results`,
    ),
  shmIoFailed: (detail: string) => new InferenceError('INTERNAL', `shared memory access failed: ${detail}`),
  shmParameterType: (parameter: string, tensor: string, expected: string) =>
    new InferenceError('INVALID_ARG', `invalid value type for '${parameter}' parameter for tensor '${tensor}', expected ${expected}.`),
  shmParameterWithoutRegion: (parameter: string, tensor: string) =>
    new InferenceError(
      'INVALID_ARG',
      `'${parameter}' can not be specified without 'shared_memory_region' parameter for tensor '${tensor}'`,
    ),
  shmByteSizeMissing: (tensor: string) =>
    new InferenceError(
      'INVALID_ARG',
      `'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor '${tensor}'`,
    ),
  shmWithClassification: () =>
    new InferenceError('INVALID_ARG', "output can't set both 'shared_memory_region' and 'classification'"),
  /** Triton's kClientShmDisabledErrorStr (common.h): registering and unregistering need --allow-client-shm=true. */
  clientSharedMemoryDisabled: () =>
    new InferenceError('UNSUPPORTED', "Client shared memory is disabled. Start the server with '--allow-client-shm=true' to enable."),
  cudaSharedMemoryUnsupported: () =>
    new InferenceError(
      'UNSUPPORTED',
      'CUDA shared memory is not supported by this server (it runs no CUDA); use system shared memory instead',
    ),

  // Python backend (backends/python). Messages follow Triton's python backend: batch failures name the instance.
  pythonExecuteFailed: (message: string) => new InferenceError('INTERNAL', message, 'BACKEND'),
  pythonResponseError: (code: ErrorCode, message: string) => new InferenceError(code, message, 'BACKEND'),
  pythonStubCrashed: (instance: string, detail: string) =>
    new InferenceError(
      'INTERNAL',
      `Failed to process the request(s) for model instance '${instance}', message: Stub process '${instance}' is not healthy: ${detail}; the stub is being restarted`,
      'BACKEND',
    ),
  pythonStubHung: (instance: string, seconds: number) =>
    new InferenceError(
      'INTERNAL',
      `Failed to process the request(s) for model instance '${instance}', message: Stub process '${instance}' did not finish execute within ${seconds} s (EXECUTE_TIMEOUT_SECONDS); it was killed and is being restarted`,
      'BACKEND',
    ),
  pythonStubUnavailable: (instance: string, detail: string) =>
    new InferenceError('UNAVAILABLE', `Stub process '${instance}' could not be restarted: ${detail}`, 'BACKEND'),

  // Decoupled models (model_transaction_policy { decoupled: true }) and the generate extension.
  decoupledOverHttp: () =>
    new InferenceError('UNSUPPORTED', "HTTP end point doesn't support models with decoupled transaction policy"),
  decoupledOverModelInfer: () =>
    new InferenceError('UNSUPPORTED', "ModelInfer RPC doesn't support models with decoupled transaction policy"),
  decoupledOverBls: (model: string) =>
    new InferenceError(
      'INVALID_ARG',
      `Model ${model} is using the decoupled. The current BLS request call doesn't support models using the decoupled transaction policy. Please use 'decoupled=True' argument to the 'exec' or 'async_exec' calls for decoupled models.`,
    ),
  decoupledBackendUnsupported: () =>
    new InferenceError('UNSUPPORTED', 'this backend cannot run decoupled models (model_transaction_policy { decoupled: true })'),
  decoupledSharedMemoryOutput: (model: string) =>
    new InferenceError('UNSUPPORTED', `shared memory outputs are not supported for the responses of decoupled model '${model}'`),
  decoupledSequenceUnsupported: (model: string) =>
    new InferenceError('UNSUPPORTED', `decoupled model '${model}' with sequence_batching is not supported by this server`),
  generateInputShape: (input: string) =>
    new InferenceError('INVALID_ARG', `The schema can not convert input '${input}' to tensor with proper shape`),
  generateKeywordNotObject: (keyword: string) => new InferenceError('INVALID_ARG', `Expected JSON object for keyword: '${keyword}'`),
  generateKeyword: (keyword: string, cause: InferenceError) =>
    new InferenceError(cause.code, `Converting keyword: '${keyword}': ${cause.message}`),
  generateResponseCount: () =>
    new InferenceError(
      'INVALID_ARG',
      'generate expects model to produce exactly 1 response, use generate stream for model that generates various number of responses',
    ),
  generateOutputNotConvertible: (output: string, datatype: string) =>
    new InferenceError('UNSUPPORTED', `generate: output '${output}' of datatype ${datatype} cannot be written as JSON`),
};
