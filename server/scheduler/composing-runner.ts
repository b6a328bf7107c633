/** What an ensemble asks of its composing models (implemented by the facade; the scheduler knows no repository). */
import type { EnsembleStep } from '../config/ensemble-graph';
import type { TraceRecorder } from '../core/request-trace';
import type { ExecutionTimings } from '../core/statistics';
import type { Tensor } from '../core/tensor';
import type { SourceBatchSize } from './ensemble-reshape';
import type { SchedulerJob } from './scheduler';

/**
 * One request to a composing model, as an ensemble step makes it. Its priority, timeout, sequence flags, id,
 * parameters, trace and cancellation signal are the ensemble request's (Triton gives every step the same; each
 * step's trace is a child).
 */
export interface StepRequest extends Pick<SchedulerJob, 'priority' | 'timeoutUs' | 'sequence' | 'requestId' | 'parameters' | 'trace' | 'signal'> {
  readonly model: string;
  /** undefined: the latest ready version. */
  readonly version?: string;
  /** Named as the composing model's inputs. */
  readonly inputs: Tensor[];
  readonly outputNames: readonly string[];
  /**
   * Per input (by the composing model's input name), the batch size the tensor was made with (0: made without
   * batching): the runner shapes it for the composing model as Triton does (ensemble-reshape.ts).
   */
  readonly inputBatchSizes?: ReadonlyMap<string, SourceBatchSize>;
}

export interface StepResult {
  readonly outputs: Tensor[];
  /** The step request's batch size, which its outputs carry on (0: the composing model does not batch). */
  readonly batchSize: SourceBatchSize;
  readonly queueNs: number;
  readonly timings: ExecutionTimings;
}

/**
 * Runs one request through a composing model's own path (its validation, scheduler, statistics and metrics), as a
 * request of its own. Implemented by the facade; the scheduler knows nothing of the repository.
 */
export interface ComposingModelRunner {
  runStep(request: StepRequest): Promise<StepResult>;
  /**
   * A step on a decoupled composing model: each response's outputs as they come, with the step request's batch size
   * (as StepResult's); resolves after the final flag.
   */
  runStepStream?(request: StepRequest, onResponse: (outputs: Tensor[], batchSize: SourceBatchSize) => void): Promise<void>;
  /** Whether the ready version a step would use is decoupled. */
  isDecoupled?(model: string, version?: string): boolean;
}

/** The request a step makes of its composing model: the step's inputs and outputs with the ensemble request's id, flags, parameters, priority and timeout. */
export function stepRequest(
  step: EnsembleStep,
  inputs: Tensor[],
  job: SchedulerJob,
  inputBatchSizes: ReadonlyMap<string, SourceBatchSize>,
  trace?: TraceRecorder,
): StepRequest {
  return {
    model: step.modelName,
    version: step.modelVersion === undefined ? undefined : String(step.modelVersion),
    inputs,
    outputNames: [...step.outputMap.keys()],
    priority: job.priority,
    timeoutUs: job.timeoutUs,
    sequence: job.sequence,
    requestId: job.requestId,
    parameters: job.parameters,
    ...(job.signal ? { signal: job.signal } : {}),
    inputBatchSizes,
    ...(trace ? { trace } : {}),
  };
}
