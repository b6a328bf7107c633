/**
 * The two load modes of inference-perf, after perf_analyzer's: closed loop (--concurrency-range: N requests, or N
 * sequences, always in flight) and open loop (--request-rate-range: requests dispatched on a schedule, constant or
 * Poisson intervals, whether or not earlier ones have returned). A request dispatched later than its schedule (the
 * event loop was busy, or a serial sequence still had one in flight) counts as delayed.
 */
import type { Outcome } from './request-sender';
import type { SequenceSlot, SequenceStep } from './sequences';

/** What one measurement window saw; the profiler swaps in a fresh one per window. */
export class WindowCounters {
  readonly latencies: number[] = [];
  readonly firstResponseLatencies: number[] = [];
  responses = 0;
  errors = 0;
  delayed = 0;
  lastError?: Error;

  record(outcome: Outcome): void {
    this.latencies.push(outcome.latencyUs);
    this.firstResponseLatencies.push(outcome.firstResponseUs);
    this.responses += outcome.responses;
  }

  fail(error: Error): void {
    this.errors += 1;
    this.lastError = error;
  }
}

export type Send = (sequence?: SequenceStep) => Promise<Outcome>;

export interface LoadGenerator {
  /** Stop dispatching and wait for what is in flight. */
  stop(): Promise<void>;
  /** True once it gave up: every request failing. */
  readonly failing: boolean;
  /** The most recent failure, for the message when nothing succeeded. */
  readonly lastError?: Error;
}

/** Give up after this many failures in a row with no success (a wrong setup, not a load effect). */
const FAILURES_BEFORE_GIVING_UP = 100;

function failureTracker() {
  let inARow = 0;
  return {
    lastError: undefined as Error | undefined,
    ok() {
      inARow = 0;
    },
    failed(error: Error): boolean {
      this.lastError = error;
      inARow += 1;
      return inARow > FAILURES_BEFORE_GIVING_UP;
    },
  };
}

/** `concurrency` workers sending back to back; with slots, each worker plays its own sequences. */
export function closedLoop(concurrency: number, send: Send, counters: () => WindowCounters, slots?: readonly SequenceSlot[]): LoadGenerator {
  let running = true;
  let failing = false;
  const failures = failureTracker();
  const worker = async (index: number) => {
    while (running) {
      try {
        const outcome = await send(slots?.[index].next());
        failures.ok();
        counters().record(outcome);
      } catch (error) {
        counters().fail(error as Error);
        if (failures.failed(error as Error)) running = !(failing = true);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, (_, i) => worker(i));
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
    },
    get failing() {
      return failing;
    },
    get lastError() {
      return failures.lastError;
    },
  };
}

/** Milliseconds to the next dispatch at `rate` requests/s: fixed, or exponential (a Poisson process). */
export function nextInterval(rate: number, distribution: 'constant' | 'poisson', random: () => number = Math.random): number {
  const mean = 1000 / rate;
  return distribution === 'constant' ? mean : -Math.log(1 - random()) * mean;
}

/** Dispatched this much after schedule or more: delayed (below it is timer jitter, not a missed schedule). */
const DELAY_TOLERANCE_MS = 1;

/**
 * Requests at `rate` per second. With slots (a stateful model), request k goes to sequence slot k mod n; `serial`
 * holds it until that slot's previous request returned.
 */
export function openLoop(
  rate: number,
  distribution: 'constant' | 'poisson',
  send: Send,
  counters: () => WindowCounters,
  slots?: readonly SequenceSlot[],
  serial = false,
): LoadGenerator {
  let running = true;
  let failing = false;
  const failures = failureTracker();
  const inFlight = new Set<Promise<void>>();

  const dispatch = async (step: SequenceStep | undefined) => {
    try {
      const outcome = await send(step);
      failures.ok();
      counters().record(outcome);
    } catch (error) {
      counters().fail(error as Error);
      if (failures.failed(error as Error)) running = !(failing = true);
    }
  };

  const loop = (async () => {
    let scheduledAt = performance.now();
    for (let k = 0; running; k++) {
      const wait = scheduledAt - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const slot = slots?.[k % slots.length];
      // A serial sequence holds the schedule (as perf_analyzer's worker blocks) rather than queueing without bound.
      if (serial && slot?.inFlight) await slot.inFlight;
      if (!running) break;
      if (performance.now() - scheduledAt >= DELAY_TOLERANCE_MS) counters().delayed += 1;
      const request = dispatch(slot?.next());
      if (slot) slot.inFlight = request;
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
      scheduledAt += nextInterval(rate, distribution);
      // Stay responsive to stop() and the window timer when the schedule is behind.
      if (scheduledAt <= performance.now()) await new Promise((resolve) => setImmediate(resolve));
    }
  })();

  return {
    async stop() {
      running = false;
      await loop;
      await Promise.all([...inFlight]);
    },
    get failing() {
      return failing;
    },
    get lastError() {
      return failures.lastError;
    },
  };
}
