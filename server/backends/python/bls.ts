import type { InferenceRunner } from '../backend';
import { InferenceError, toInferenceError } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import type { InferRequest, Parameters, ParameterValue } from '../../core/types';
import type { BlsCallMessage, BlsHandler, BlsReply } from './stub-process';

/**
 * Business Logic Scripting: a model's pb_utils.InferenceRequest(...).exec() becomes a request on the server's normal
 * path (the target's scheduler, statistics, errors from the catalogue) through the narrow InferenceRunner. Errors of
 * the called model come back as error responses, never as exceptions in the caller, as in Triton.
 */
export function blsHandler(runner: InferenceRunner): BlsHandler {
  return (call, inputs, reply, cancellation) => {
    let request: InferRequest;
    try {
      // Cancelled by the calling model (ResponseIterator.cancel()): the called model sees its request cancelled.
      request = { ...toInferRequest(call, inputs), signal: cancellation };
    } catch (error) {
      reply({ error: toInferenceError(error, 'INVALID_ARG') }, true);
      return;
    }
    if (!call.decoupled) {
      runner.inferForBackend(request).then(
        (response) => reply({ outputs: response.outputs as Tensor[] }, true),
        (error: unknown) => reply(errorReply(error), true),
      );
      return;
    }
    let finalSent = false;
    runner
      .inferStream(request, (event, final) => {
        finalSent ||= final;
        reply(event && ('error' in event ? { error: event.error } : { outputs: event.response.outputs as Tensor[] }), final);
      })
      .catch((error: unknown) => {
        if (!finalSent) reply(errorReply(error), true);
      });
  };
}

function errorReply(error: unknown): BlsReply {
  return { error: error instanceof InferenceError ? error : toInferenceError(error) };
}

/** The request fields of pb_utils.InferenceRequest, in the facade's terms (Triton's request parameters). */
function toInferRequest(call: BlsCallMessage, inputs: Tensor[]): InferRequest {
  const parameters: Parameters = {};
  if (call.parameters && typeof call.parameters === 'object') {
    for (const [key, value] of Object.entries(call.parameters)) {
      if (['string', 'number', 'boolean'].includes(typeof value)) parameters[key] = value as ParameterValue;
    }
  }
  const correlation = call.correlation_id;
  if (correlation !== 0 && correlation !== '' && correlation !== undefined) {
    parameters.sequence_id = correlation;
    if (call.flags & 1) parameters.sequence_start = true;
    if (call.flags & 2) parameters.sequence_end = true;
  }
  if (call.timeout > 0) parameters.timeout = call.timeout;
  const version = call.model_version > 0 ? String(call.model_version) : undefined;
  return {
    model: call.model_name,
    ...(version ? { version } : {}),
    ...(call.request_id ? { id: call.request_id } : {}),
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    inputs,
    ...(call.requested_output_names.length > 0 ? { outputs: call.requested_output_names.map((name) => ({ name })) } : {}),
  };
}
