import type { LoadedModelVersion } from '../repository/loaded-version';
import { Errors, toInferenceError } from './errors';
import type { ObserverHub } from './observer';
import { recordFailed, recordServed } from './request-accounting';
import { backendParameters, schedulingParameters } from './request-parameters';
import { selectOutputs, validateInputs } from './request-validation';
import { sequenceFlags } from './sequence-parameters';
import type { SystemSharedMemoryRegistry } from './shared-memory';
import { RequestSharedMemory } from './shared-memory-tensors';
import { InferStreamListener, toStreamEvent } from './streaming';
import type { InferRequest } from './types';

/**
 * One request to a decoupled model (model_transaction_policy { decoupled: true }): its responses reach `listener` as
 * the model sends them, then the final flag; resolves after it, rejects (InferenceError) when the request fails as
 * a whole. Counted in the model's statistics and metrics as one request, as the facade counts any other.
 */
export async function runDecoupled(
  loaded: LoadedModelVersion,
  request: InferRequest,
  listener: InferStreamListener,
  context: { readonly sharedMemory: SystemSharedMemoryRegistry; readonly observers: ObserverHub },
): Promise<void> {
  const started = process.hrtime.bigint();
  const account = { stats: loaded.stats, observers: context.observers, model: loaded.name, version: String(loaded.version) };
  const shm = new RequestSharedMemory(context.sharedMemory);
  try {
    if (loaded.config.sequence_batching) throw Errors.decoupledSequenceUnsupported(request.model);
    const scheduling = schedulingParameters(request.parameters);
    const { inputs, batchSize } = validateInputs(loaded.config, shm.resolveInputs(request.model, request.inputs), request.id);
    const outputNames = selectOutputs(loaded.config, request);
    if (request.outputs?.some((output) => output.sharedMemory)) throw Errors.decoupledSharedMemoryOutput(request.model);
    const header = { model: request.model, version: String(loaded.version), ...(request.id !== undefined ? { id: request.id } : {}) };
    const result = await loaded.scheduler.enqueue({
      inputs,
      outputNames,
      batchSize,
      ...scheduling,
      // As for any other request (InferenceService.serve): the model reads them (Python's request.parameters(),
      // request_id(), correlation_id()).
      sequence: sequenceFlags(request.parameters),
      requestId: request.id,
      parameters: backendParameters(request.parameters),
      sink: (streamed, final) => listener(streamed && toStreamEvent(streamed, header), final),
      signal: request.signal,
    });
    recordServed(account, batchSize, Number(process.hrtime.bigint() - started), result);
  } catch (error) {
    const failure = toInferenceError(error);
    recordFailed(account, failure.failureReason, Number(process.hrtime.bigint() - started));
    throw failure;
  } finally {
    shm.release();
  }
}
