/**
 * Errors of the error catalogue (server/core/errors.ts): the model lifecycle (load, unload, instances, warmup) and the
 * schedulers (queues, sequence batcher, ensembles).
 */

import { InferenceError } from '../inference-error';
import { requestTag } from './requests';

export const modelErrors = {
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
};
