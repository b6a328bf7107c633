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

/** The parameters the server acts on itself; Triton's frontends do not pass them on to the backend. */
const CONSUMED_PARAMETERS = new Set(['priority', 'timeout', 'sequence_id', 'sequence_start', 'sequence_end']);

/** A request's parameters as a backend sees them (Python's `request.parameters()`): all but the consumed ones. */
export function backendParameters(parameters: Parameters | undefined): Parameters | undefined {
  if (!parameters) return undefined;
  const kept: Parameters = {};
  let any = false;
  for (const [key, value] of Object.entries(parameters)) {
    if (CONSUMED_PARAMETERS.has(key)) continue;
    kept[key] = value;
    any = true;
  }
  return any ? kept : undefined;
}
