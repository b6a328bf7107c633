/**
 * Triton's ensemble backpressure (`ensemble_scheduling { max_inflight_requests: N }`): at most N requests to one
 * step's model in flight at once, across all the requests of the ensemble. A step waits for a slot before its request
 * is sent and frees it when the composing model's final response comes (or the request fails), so a fast producer
 * (a decoupled step) cannot pile up work in front of a slow consumer. 0: no limit.
 *
 * As in Triton, a wait past OVERDUE_MS goes ahead anyway (and is reported), so a composing model that never answers
 * cannot stall the ensemble for good. Waiters are served first come, first served.
 */

import type { CancelSignal } from '../core/cancellation';

/** Triton core's kMutexTimeoutSeconds. */
export const OVERDUE_MS = 300_000;

export class StepInflightLimiter {
  private inflight = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(
    readonly limit: number,
    /** Called when a wait ran past OVERDUE_MS and the request goes ahead over the limit. */
    private readonly onOverdue: (inflight: number) => void = () => undefined,
    private readonly overdueMs = OVERDUE_MS,
  ) {}

  /** Requests holding a slot now. */
  get inflightCount(): number {
    return this.inflight;
  }

  /** Requests waiting for a slot. */
  get waitingCount(): number {
    return this.waiters.length;
  }

  /**
   * Resolves true once the caller holds a slot (every such acquire is paired with one release), or false, holding
   * none, when `signal` aborts first (its client is gone): the waiter leaves the queue at once.
   */
  acquire(signal?: CancelSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.limit === 0) return Promise.resolve(true);
    if (this.inflight < this.limit && this.waiters.length === 0) {
      this.inflight += 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const settle = (held: boolean): void => {
        clearTimeout(timer);
        // Removed on every outcome, so that one signal's listeners do not pile up over a request's steps.
        signal?.removeEventListener('abort', abandon);
        resolve(held);
      };
      const granted = (): void => settle(true);
      const leaveQueue = (): boolean => {
        const at = this.waiters.indexOf(granted);
        if (at >= 0) this.waiters.splice(at, 1);
        return at >= 0;
      };
      const abandon = (): void => {
        if (leaveQueue()) settle(false);
      };
      const timer = setTimeout(() => {
        if (!leaveQueue()) return;
        this.onOverdue(this.inflight);
        this.inflight += 1;
        settle(true);
      }, this.overdueMs);
      timer.unref();
      signal?.addEventListener('abort', abandon, { once: true });
      this.waiters.push(granted);
    });
  }

  /** Free a slot: the first waiter takes it over. */
  release(): void {
    if (this.limit === 0 || this.inflight === 0) return;
    const next = this.inflight <= this.limit ? this.waiters.shift() : undefined;
    if (next) next();
    else this.inflight -= 1;
  }

  /** Run `work` holding a slot; undefined, without running it, when `signal` aborts while it waits for one. */
  async run<T>(work: () => Promise<T>, signal?: CancelSignal): Promise<T | undefined> {
    if (!(await this.acquire(signal))) return undefined;
    try {
      return await work();
    } finally {
      this.release();
    }
  }
}
