/**
 * Errors of the error catalogue (server/core/errors.ts): the Python backend, decoupled models and the generate
 * extension.
 */

import { ErrorCode, InferenceError } from '../inference-error';

export const backendErrors = {
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
