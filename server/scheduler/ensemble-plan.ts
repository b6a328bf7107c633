/** What every request of one ensemble shares: its steps, how a step's request is sent, how tensors are shaped. */
import type { EnsembleStep } from '../config/ensemble-graph';
import type { CancelSignal } from '../core/cancellation';
import type { Tensor } from '../core/tensor';
import type { ComposingModelRunner } from './composing-runner';
import { reshapeForModel, type SourceBatchSize } from './ensemble-reshape';
import type { SchedulerJob } from './scheduler';
import { OVERDUE_MS, StepInflightLimiter } from './step-inflight-limiter';

/** The logger an ensemble notes events to (pino's debug level is Triton's --log-verbose=1). */
export interface EnsembleLog {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface EnsembleOptions {
  /** Whether the ensemble batches (max_batch_size > 0). @default false */
  readonly batching?: boolean;
  /** The ensemble's output dims by output name: outputs are shaped for them as Triton does. @default none */
  readonly outputDims?: ReadonlyMap<string, readonly number[]>;
  /** `ensemble_scheduling.max_inflight_requests`: requests in flight per step across the ensemble's requests. @default 0 (no limit) */
  readonly maxInflightRequests?: number;
  readonly log?: EnsembleLog;
}

export class EnsemblePlan {
  private readonly limiters = new Map<EnsembleStep, StepInflightLimiter>();

  constructor(
    readonly ensemble: string,
    readonly steps: readonly EnsembleStep[],
    readonly runner: ComposingModelRunner,
    private readonly options: EnsembleOptions = {},
  ) {
    const limit = options.maxInflightRequests ?? 0;
    if (limit > 0) {
      steps.forEach((step, index) => {
        // Triton's words for a wait that went past its limit.
        const overdue = (inflight: number) =>
          options.log?.error(
            { ensemble },
            `[Internal Error] Ensemble '${ensemble}' unable to schedule step ${index} (inflight: ${inflight} >= limit: ${limit}) for ${OVERDUE_MS / 1000} seconds. Proceeding to avoid deadlock.`,
          );
        this.limiters.set(step, new StepInflightLimiter(limit, overdue));
      });
    }
  }

  get log(): EnsembleLog | undefined {
    return this.options.log;
  }

  /** The backpressure limiter of a step, when max_inflight_requests is set. */
  limiterOf(step: EnsembleStep): StepInflightLimiter | undefined {
    return this.limiters.get(step);
  }

  /** The batch size the request's inputs carry into the steps (0: the ensemble does not batch). */
  inputBatchSize(job: SchedulerJob): SourceBatchSize {
    return this.options.batching === true ? job.batchSize : 0;
  }

  /** An output of the ensemble (made with `batchSize`), shaped for the ensemble's config as Triton does. */
  shapeOutput(tensor: Tensor, batchSize: SourceBatchSize): Tensor {
    const dims = this.options.outputDims?.get(tensor.name);
    return dims ? { ...tensor, shape: reshapeForModel(dims, this.options.batching === true, batchSize, tensor.shape) } : tensor;
  }

  /**
   * Send a step's request holding the step's backpressure slot until its final response (or its failure). With the
   * request's `signal`: undefined, unsent, when its client is gone while the step waits for a slot.
   */
  send<T>(step: EnsembleStep, request: () => Promise<T>): Promise<T>;
  send<T>(step: EnsembleStep, request: () => Promise<T>, signal: CancelSignal | undefined): Promise<T | undefined>;
  send<T>(step: EnsembleStep, request: () => Promise<T>, signal?: CancelSignal): Promise<T | undefined> {
    const limiter = this.limiters.get(step);
    // Without a signal no wait is abandoned: the result is the request's own.
    return limiter ? limiter.run(request, signal) : request();
  }
}
