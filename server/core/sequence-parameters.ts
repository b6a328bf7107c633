import { Errors } from './errors';
import type { Parameters } from './types';

/** A correlation id as Triton keeps it: an unsigned 64-bit integer or a string. 0 and '' mean "no sequence". */
export type CorrelationId = bigint | string;

/** The sequence parameters of one request (Triton's correlation id and START/END flags). */
export interface SequenceFlags {
  readonly id: CorrelationId;
  readonly start: boolean;
  readonly end: boolean;
}

const UINT64_MAX = (1n << 64n) - 1n;
const NO_SEQUENCE: SequenceFlags = Object.freeze({ id: 0n, start: false, end: false });

/**
 * `sequence_id` (uint64 or string), `sequence_start` and `sequence_end` (bool) from request parameters, as both
 * frontends pass them. Absent id: 0 (the scheduler decides whether the model needs one).
 */
export function sequenceFlags(parameters: Parameters | undefined): SequenceFlags {
  // Most requests carry none of them: one shared answer, no allocation.
  if (!parameters || !('sequence_id' in parameters || 'sequence_start' in parameters || 'sequence_end' in parameters)) {
    return NO_SEQUENCE;
  }
  return {
    id: correlationId(parameters?.sequence_id),
    start: flag(parameters, 'sequence_start'),
    end: flag(parameters, 'sequence_end'),
  };
}

function correlationId(value: unknown): CorrelationId {
  if (value === undefined) return 0n;
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint' && value >= 0n && value <= UINT64_MAX) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw Errors.badSequenceParameter('sequence_id', 'an unsigned 64-bit integer or a string');
}

function flag(parameters: Parameters | undefined, key: 'sequence_start' | 'sequence_end'): boolean {
  const value = parameters?.[key];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw Errors.badSequenceParameter(key, 'a boolean');
  return value;
}

/** True when the id names a sequence (Triton's InSequence: non-zero or non-empty). */
export function inSequence(id: CorrelationId): boolean {
  return id !== 0n && id !== '';
}

/** The id as Triton prints it in messages. */
export function formatCorrelationId(id: CorrelationId): string {
  return typeof id === 'string' ? id : id.toString();
}
