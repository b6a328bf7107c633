/**
 * Errors of the error catalogue (server/core/errors.ts): HTTP/REST bodies and their decoding (protocol/http); wording
 * follows Triton's HTTP frontend (http_server.cc) and TritonJson.
 */

import { InferenceError } from '../inference-error';

const USE_MAX_INPUT_SIZE = 'Use --http-max-input-size to increase the limit.';

export const httpErrors = {
  // Bodies and routes (protocol/http): size limits, Content-Encoding, unknown routes.
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
};
