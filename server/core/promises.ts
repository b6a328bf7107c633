/**
 * Node's timers hold at most 2^31 - 1 ms (about 24.8 days): a longer delay (a request `timeout`, a config's
 * max_queue_delay_microseconds, an --exit-timeout-secs) overflows to 1 ms with a TimeoutOverflowWarning, so a waiting
 * timer would fire every millisecond. Every computed delay goes through this clamp; a timer that wakes before its
 * deadline re-checks and re-arms (schedulers), or treats ~24.8 days as the limit (one-shot timeouts).
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** `ms` as a delay setTimeout accepts exactly: at least 1, at most MAX_TIMER_DELAY_MS (NaN counts as the most). */
export function timerDelay(ms: number): number {
  if (!(ms >= 1)) return Number.isNaN(ms) ? MAX_TIMER_DELAY_MS : 1;
  return Math.min(Math.ceil(ms), MAX_TIMER_DELAY_MS);
}

/** Whether `promise` settles within `ms` (it is not cancelled either way): bounded waits for shutdown and unload. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timerDelay(ms));
  });
  try {
    const settled = promise.then(
      () => true,
      () => true,
    );
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
