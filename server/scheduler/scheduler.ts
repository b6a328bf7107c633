import type { RequestContext } from '../backends/backend';
import type { CancelSignal } from '../core/cancellation';
import type { InferenceError } from '../core/errors';
import type { TraceRecorder } from '../core/request-trace';
import type { ResponseSink } from '../core/streaming';
import type { ExecutionTimings } from '../core/statistics';
import type { SequenceFlags } from '../core/sequence-parameters';
import type { Tensor } from '../core/tensor';
import type { Parameters } from '../core/types';

/** One accepted request waiting for, or in, execution. */
export interface SchedulerJob {
  /** Inputs with the batch dimension first when the model batches. */
  readonly inputs: Tensor[];
  readonly outputNames: readonly string[];
  /** Size of the leading batch dimension; 1 for models without batching. */
  readonly batchSize: number;
  /** The request's `priority` parameter (0 or absent: the model's default level). */
  readonly priority?: number;
  /** The request's `timeout` parameter, microseconds (0 or absent: the queue policy's default). */
  readonly timeoutUs?: number;
  /** The request's correlation id and START/END flags (read for models with sequence_batching). */
  readonly sequence?: SequenceFlags;
  /** The request's id, for error messages that name it (and the backend, when the job runs alone). */
  readonly requestId?: string;
  /** The request's parameters a backend may read (backendParameters), when the job runs alone. */
  readonly parameters?: Parameters;
  /** Present when the request is traced: the scheduler adds QUEUE_START and its batch's COMPUTE_* timestamps. */
  readonly trace?: TraceRecorder;
  /** Decoupled models: where the responses go as they come; the job runs alone and its result has no outputs. */
  readonly sink?: ResponseSink;
  /** The request's InferRequest.signal: aborted when its client is gone. */
  readonly signal?: CancelSignal;
}

export interface JobResult {
  readonly outputs: Tensor[];
  /** Response parameters the scheduler adds (an ensemble's sequence id and flags). */
  readonly parameters?: Parameters;
  /** Time from enqueue until its batch started executing. */
  readonly queueNs: number;
  /** Timings of the batch the job ran in (shared by every job of that batch). */
  readonly timings: ExecutionTimings;
}

/** Per model-version request scheduling, behind an interface as in Triton's core. */
export interface Scheduler {
  /** Accept a job; resolves once it has executed. Rejects with InferenceError. */
  enqueue(job: SchedulerJob): Promise<JobResult>;
  /** Jobs accepted and not yet finished (queued or executing). */
  readonly pendingCount: number;
  /** Jobs waiting in the queue, not yet executing (Triton's nv_inference_pending_request_count). */
  readonly queuedCount: number;
  /** Run every accepted job without further batching delay; resolve once all have finished. */
  drain(): Promise<void>;
  /**
   * Fail every job still queued with `error` (unload without draining). Optional: a scheduler that dispatches all it
   * holds to its instances has nothing to do here, closing the instances fails those jobs.
   */
  abort?(error: InferenceError): void;
  /** An ensemble with a decoupled composing model streams its responses, as a decoupled model does. */
  hasDecoupledStep?(): boolean;
}

/** The request a job came from, as a backend may see it when the job executes alone. */
export function requestContext(job: SchedulerJob): RequestContext {
  const sequence = job.sequence;
  return {
    requestId: job.requestId,
    parameters: job.parameters,
    correlationId: sequence?.id,
    flags: sequence ? (sequence.start ? 1 : 0) | (sequence.end ? 2 : 0) : 0,
    ...(job.signal ? { signal: job.signal } : {}),
  };
}
