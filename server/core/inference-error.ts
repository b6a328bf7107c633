/**
 * The error every failure that reaches a client is: a core code (each frontend maps it to its status in one function)
 * and Triton's message. Built by the factories of the one catalogue, server/core/errors.ts.
 */

import type { FailureReason } from './observer';

export type ErrorCode =
  | 'INVALID_ARG'
  | 'NOT_FOUND'
  | 'UNAVAILABLE'
  | 'UNSUPPORTED'
  | 'INTERNAL'
  | 'ALREADY_EXISTS'
  | 'CANCELLED'
  | 'TOO_LARGE';

export class InferenceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** How nv_inference_request_failure counts it when it fails a request: REJECTED, BACKEND, ... (default OTHER). */
    readonly failureReason: FailureReason = 'OTHER',
  ) {
    super(message);
    this.name = 'InferenceError';
  }
}

export function isInferenceError(error: unknown): error is InferenceError {
  return error instanceof InferenceError;
}

/** Wrap anything thrown into an InferenceError, keeping the message. */
export function toInferenceError(error: unknown, code: ErrorCode = 'INTERNAL'): InferenceError {
  if (error instanceof InferenceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InferenceError(code, message);
}
