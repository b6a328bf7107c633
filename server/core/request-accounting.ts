import type { FailureReason, ObserverHub, RequestEvent } from './observer';
import type { ExecutionTimings, StatisticsRecorder } from './statistics';

/** Where one model version's requests are counted: its statistics (stats API) and the observers (metrics). */
export interface RequestAccount {
  readonly stats: StatisticsRecorder;
  readonly observers: ObserverHub;
  readonly model: string;
  readonly version: string;
}

/** A response-cache lookup that answered the request (hit) or did not (miss), with its time. */
export interface CacheLookup {
  readonly hit: boolean;
  readonly ns: number;
}

/** Count a request that was answered: by an execution (queue and compute times), or by the cache on a hit. */
export function recordServed(
  account: RequestAccount,
  batchSize: number,
  requestNs: number,
  result: { readonly queueNs: number; readonly timings: ExecutionTimings },
  cache?: CacheLookup,
): void {
  const { stats, observers, model, version } = account;
  if (cache?.hit) {
    stats.recordCacheHit(requestNs, cache.ns);
    observers.onRequest({ model, version, ok: true, batchSize, requestNs, queueNs: 0, cache });
    return;
  }
  stats.recordSuccess(requestNs, result.queueNs, batchSize, result.timings);
  if (cache) stats.recordCacheMiss(cache.ns);
  const { timings } = result;
  const event: RequestEvent = {
    model,
    version,
    ok: true,
    batchSize,
    requestNs,
    queueNs: result.queueNs,
    computeInputNs: timings.computeInputNs,
    computeInferNs: timings.computeInferNs,
    computeOutputNs: timings.computeOutputNs,
  };
  // Without a spread of an empty object per request when there is no cache.
  observers.onRequest(cache ? { ...event, cache } : event);
}

/** Count a failed request; `stats` is absent when it failed before a version was chosen. */
export function recordFailed(
  account: Omit<RequestAccount, 'stats'> & { readonly stats?: StatisticsRecorder },
  reason: FailureReason,
  requestNs: number,
): void {
  account.stats?.recordFailure(requestNs);
  account.observers.onRequest({ model: account.model, version: account.version, ok: false, reason, batchSize: 1, requestNs });
}
