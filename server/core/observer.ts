/**
 * Events the core emits for metrics (and anything else that watches): observers see outcomes, never change them.
 * Durations are nanoseconds.
 */

/** Triton's nv_inference_request_failure reasons. */
export type FailureReason = 'REJECTED' | 'CANCELED' | 'BACKEND' | 'OTHER';

export interface RequestEvent {
  readonly model: string;
  /** Empty when the request failed before a version was chosen. */
  readonly version: string;
  readonly ok: boolean;
  readonly reason?: FailureReason;
  /** Batch size of the request (its leading dimension; 1 for models without batching). */
  readonly batchSize: number;
  readonly requestNs: number;
  /** Present for requests that reached the scheduler. */
  readonly queueNs?: number;
  readonly computeInputNs?: number;
  readonly computeInferNs?: number;
  readonly computeOutputNs?: number;
  /** Present for requests to a model that uses the response cache: hit or miss, and its lookup (+ insert) time. */
  readonly cache?: { readonly hit: boolean; readonly ns: number };
}

export interface ExecutionEvent {
  readonly model: string;
  readonly version: string;
  readonly batchSize: number;
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

export interface ModelLoadEvent {
  readonly model: string;
  readonly version: string;
  readonly ok: boolean;
  readonly seconds: number;
}

export interface InferenceObserver {
  onRequest?(event: RequestEvent): void;
  onExecution?(event: ExecutionEvent): void;
  onModelLoad?(event: ModelLoadEvent): void;
  onModelUnload?(event: { model: string; version: string }): void;
}

/** Fans events out to observers; an observer that throws is isolated from the others and from the request. */
export class ObserverHub implements Required<InferenceObserver> {
  private readonly observers: InferenceObserver[] = [];

  add(observer: InferenceObserver): void {
    this.observers.push(observer);
  }

  // The two per-request events catch in place: a closure per observer per event showed in a small request's allocations.
  onRequest(event: RequestEvent): void {
    for (const o of this.observers) {
      try {
        o.onRequest?.(event);
      } catch {
        // Metrics must never fail a request.
      }
    }
  }

  onExecution(event: ExecutionEvent): void {
    for (const o of this.observers) {
      try {
        o.onExecution?.(event);
      } catch {
        // As onRequest.
      }
    }
  }

  onModelLoad(event: ModelLoadEvent): void {
    for (const o of this.observers) safely(() => o.onModelLoad?.(event));
  }

  onModelUnload(event: { model: string; version: string }): void {
    for (const o of this.observers) safely(() => o.onModelUnload?.(event));
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Metrics must never fail a request.
  }
}
