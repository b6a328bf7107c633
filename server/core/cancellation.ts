/**
 * A request's cancellation: set when its client is gone (an HTTP connection closed before the response, a cancelled
 * gRPC call or stream). Readers take the part of AbortSignal they use, `CancelSignal`, so a real AbortSignal serves
 * too (the gRPC stream's, tests'). Per-request frontends use `Cancellation` instead of an AbortController: reading
 * `controller.signal` costs several microseconds on Node 20 (the DOM EventTarget it builds), paid by every request
 * although almost none is ever cancelled; this costs an object.
 */

/** What the server reads of a cancellation signal (AbortSignal satisfies it). */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** A CancelSignal the frontend sets once with cancel(); listeners run once, in the order they were added. */
export class Cancellation implements CancelSignal {
  private cancelled = false;
  private listeners: Array<() => void> | undefined;

  get aborted(): boolean {
    return this.cancelled;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    const listeners = this.listeners ?? [];
    this.listeners = undefined;
    for (const listener of listeners) listener();
  }

  addEventListener(_type: 'abort', listener: () => void, _options?: { once?: boolean }): void {
    // Every listener here runs at most once (the signal aborts once), as with AbortSignal's { once: true }.
    if (!this.cancelled) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const index = this.listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.listeners!.splice(index, 1);
  }
}

/**
 * Give `request` its cancel signal in place and return it. Only for a request decoded for this call alone (no one else
 * holds it): frontends used to copy the whole request per call to add the signal, a few µs on every request.
 */
export function attachSignal<T extends { readonly signal?: CancelSignal }>(request: T, signal: CancelSignal): T {
  (request as { signal?: CancelSignal }).signal = signal;
  return request;
}
