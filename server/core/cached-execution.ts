import type { JobResult } from '../scheduler/scheduler';
import { CacheOwner, copyTensor, ResponseCache } from './response-cache';
import { responseCacheKey } from './response-cache-key';
import type { Tensor } from './tensor';

/** How the response cache took part in a request: Triton's cache_hit / cache_miss statistics. */
export interface CacheOutcome {
  readonly hit: boolean;
  /** Hit: the lookup. Miss: the lookup plus the insertion (Triton's cache_miss duration). */
  readonly ns: number;
}

const NO_EXECUTION = { batchSize: 0, computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };

/**
 * Answer from the cache, or run the request and store its outputs. A hit never reaches the scheduler: no queueing,
 * no execution, no compute time. Only successful results are stored (a failure rejects before the insert).
 */
export async function executeWithCache(
  cache: ResponseCache,
  owner: CacheOwner,
  inputs: readonly Tensor[],
  outputNames: readonly string[],
  run: () => Promise<JobResult>,
): Promise<{ result: JobResult; cache: CacheOutcome }> {
  const lookupStarted = process.hrtime.bigint();
  const key = responseCacheKey(owner.model, owner.version, inputs, outputNames);
  const cached = cache.lookup(key, owner);
  const lookupNs = Number(process.hrtime.bigint() - lookupStarted);
  if (cached) {
    // Copies: a consumer may move a buffer it is given (an ensemble step hands large tensors to a worker thread), and
    // the stored entry must outlive every hit.
    return { result: { outputs: cached.map(copyTensor), queueNs: 0, timings: NO_EXECUTION }, cache: { hit: true, ns: lookupNs } };
  }
  const result = await run();
  const insertStarted = process.hrtime.bigint();
  cache.insert(key, owner, result.outputs);
  const insertNs = Number(process.hrtime.bigint() - insertStarted);
  return { result, cache: { hit: false, ns: lookupNs + insertNs } };
}
