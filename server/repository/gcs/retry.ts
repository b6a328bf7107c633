/** Retries with exponential backoff and full jitter for transient Cloud Storage failures (429, 5xx, resets, bad bytes). */

export interface RetryOptions {
  /** Attempts in all, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** Upper bound of the first delay. @default 250 */
  readonly initialDelayMs?: number;
  /** @default 2 */
  readonly multiplier?: number;
  /** @default 10000 */
  readonly maxDelayMs?: number;
}

/** A downloaded object's bytes did not match its metadata (size, crc32c or md5): worth downloading again. */
export class IntegrityError extends Error {
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** No bytes arrived for too long. The client library does not always report a connection closed mid-body, so a watchdog does. */
export class StalledDownloadError extends Error {
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'StalledDownloadError';
  }
}

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

/** HTTP status of an error from @google-cloud/storage (ApiError.code) or undefined. */
export function httpStatusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') return code;
  if (typeof code === 'string' && /^[0-9]{3}$/.test(code)) return Number(code);
  return undefined;
}

export function isTransient(error: unknown): boolean {
  if ((error as { retryable?: unknown } | undefined)?.retryable === true) return true;
  const status = httpStatusOf(error);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /socket hang up|aborted|premature close|ECONNRESET|network|timeout/i.test(message);
}

export class RetriesExhaustedError extends Error {
  constructor(readonly attempts: number, readonly last: unknown) {
    super(`${(last as Error)?.message ?? String(last)} (gave up after ${attempts} attempts)`);
    this.name = 'RetriesExhaustedError';
  }
}

/**
 * Run `fn` until it succeeds, a non-transient error occurs (thrown as is), or the attempts run out
 * (RetriesExhaustedError carrying the last error).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const initial = options.initialDelayMs ?? 250;
  const multiplier = options.multiplier ?? 2;
  const maxDelay = options.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (attempt >= maxAttempts) throw new RetriesExhaustedError(attempt, error);
      const cap = Math.min(maxDelay, initial * multiplier ** (attempt - 1));
      const delay = Math.round(cap / 2 + (Math.random() * cap) / 2);
      onRetry?.(error, attempt, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** At most `limit` tasks at once; shared by every model of a source so a big repository doesn't open hundreds of streams. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
