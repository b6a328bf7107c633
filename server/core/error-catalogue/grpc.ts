/** Errors of the error catalogue (server/core/errors.ts): gRPC request decoding (protocol/grpc/codec.ts). */

import { InferenceError } from '../inference-error';

export const grpcErrors = {
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
};
