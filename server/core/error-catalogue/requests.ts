/**
 * Errors of the error catalogue (server/core/errors.ts): model addressing, server state and the validation of a request
 * against the model's config. Wording follows Triton's core (infer_request.cc, model_repository_manager.cc).
 */

import { InferenceError } from '../inference-error';

const unknownModel = 'Request for unknown model: ';

/** Triton prefixes request errors with the request's id, or <id_unknown> when it has none. */
export const requestTag = (rid: string | undefined) => `[request id: ${rid === undefined || rid === '' ? '<id_unknown>' : rid}]`;
const quotedList = (names: string[]) => `[${names.map((n) => `'${n}'`).join(',')}]`;

export const requestErrors = {
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
  /** The client went away (HTTP connection closed, gRPC stream cancelled): Triton's CANCELLED code, our words. */
  requestCancelled: (rid: string | undefined) => new InferenceError('CANCELLED', `${requestTag(rid)} request cancelled: its client has gone`, 'CANCELED'),

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
  /**
   * `batching`: the model's max_batch_size > 0, where Triton adds a note on the batch dimension. `hint`: this
   * server's note when the request's shape is a sample's shape without the batch dimension (missingBatchDimensionHint).
   */
  shapeMismatch: (rid: string | undefined, model: string, input: string, expected: string, got: string, batching = false, hint?: string) =>
    new InferenceError(
      'INVALID_ARG',
      `${requestTag(rid)} unexpected shape for input '${input}' for model '${model}'. Expected ${expected}, got ${got}. ` +
        (hint ? `${hint} ` : '') +
        (batching
          ? 'NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to be prepended to each ' +
            'input shape. If you want to specify the full shape including the batch dim in your input dims config, try ' +
            'setting max_batch_size to zero. See the model configuration docs for more info on max_batch_size.'
          : ''),
    ),
  /** `hint` as for shapeMismatch, after Triton's text. */
  batchTooLarge: (rid: string | undefined, model: string, max: number, hint?: string) =>
    new InferenceError('INVALID_ARG', `${requestTag(rid)} inference request batch-size must be <= ${max} for '${model}'${hint ? `. ${hint}` : ''}`),
  /** A batching model sent an input whose shape is the config's dims: the batch dimension is missing. */
  missingBatchDimensionHint: (model: string, maxBatchSize: number, input: string, shape: string, withBatch: string) =>
    `The first dimension of each input's shape is the batch size for model '${model}' (max_batch_size ${maxBatchSize}): ` +
    `input '${input}' has shape ${shape}, the shape of one sample; send ${withBatch} for one sample.`,
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
};
