import { Errors } from './errors';
import type { Parameters } from './types';

/** The scheduling parameters of one request (Triton's schedule_policy extension). */
export interface SchedulingParameters {
  /** Priority level; 0 or absent: the model's default level. */
  readonly priority?: number;
  /** Queue timeout in microseconds; 0 or absent: the queue policy's default. */
  readonly timeoutUs?: number;
}

/**
 * The request-level parameter rules both frontends share, checked once in the facade: keys starting with `triton_`
 * are Triton's own, `priority` and `timeout` are non-negative integers. (Sequence parameters: sequence-parameters.ts.)
 */
export function schedulingParameters(parameters: Parameters | undefined): SchedulingParameters {
  if (!parameters) return {};
  for (const key of Object.keys(parameters)) {
    if (key.startsWith('triton_')) throw Errors.reservedParameter();
  }
  return { priority: nonNegativeInteger(parameters, 'priority'), timeoutUs: nonNegativeInteger(parameters, 'timeout') };
}

function nonNegativeInteger(parameters: Parameters, key: 'priority' | 'timeout'): number | undefined {
  const value = parameters[key];
  if (value === undefined) return undefined;
  // gRPC's int64/uint64 parameters arrive as bigint past 2^53: far beyond any priority level or timeout.
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw Errors.badField(key, 'expected a non-negative integer');
  }
  return value;
}
