/**
 * The gRPC frontend's only error mapping: core error code → gRPC status code, as Triton maps its core errors
 * (grpc_utils.cc). Anything that is not an InferenceError is a bug: it becomes INTERNAL with a safe message.
 */
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { ErrorCode, isInferenceError } from '../../core/errors';

export function grpcStatusOf(code: ErrorCode): GrpcStatus {
  switch (code) {
    case 'NOT_FOUND':
      return GrpcStatus.NOT_FOUND;
    case 'INVALID_ARG':
      return GrpcStatus.INVALID_ARGUMENT;
    case 'UNAVAILABLE':
      return GrpcStatus.UNAVAILABLE;
    case 'UNSUPPORTED':
      return GrpcStatus.UNIMPLEMENTED;
    case 'INTERNAL':
      return GrpcStatus.INTERNAL;
    case 'ALREADY_EXISTS':
      return GrpcStatus.ALREADY_EXISTS;
    case 'TOO_LARGE':
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 'CANCELLED':
      return GrpcStatus.CANCELLED;
    default:
      return GrpcStatus.UNKNOWN;
  }
}

export const INTERNAL_MESSAGE = 'Internal Server Error';

/** What a handler passes to grpc-js for a failure: status code and client-safe details (never a stack). */
export function toGrpcError(error: unknown): Partial<ServiceError> & { code: GrpcStatus; details: string } {
  if (isInferenceError(error)) {
    return { name: 'InferenceError', message: error.message, code: grpcStatusOf(error.code), details: error.message, metadata: new Metadata() };
  }
  return { name: 'Error', message: INTERNAL_MESSAGE, code: GrpcStatus.INTERNAL, details: INTERNAL_MESSAGE, metadata: new Metadata() };
}

/** The text a stream response carries in `error_message` for a failed request. */
export function streamErrorMessage(error: unknown): string {
  return isInferenceError(error) ? error.message : INTERNAL_MESSAGE;
}
