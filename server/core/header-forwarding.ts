/**
 * Triton's --http-header-forward-pattern / --grpc-header-forward-pattern: request headers (gRPC metadata) whose name
 * matches the pattern (case-insensitive, anywhere in the name) become string parameters of the inference request,
 * where backends read them (a Python model's `request.parameters()`). Reserved parameter names cannot be forwarded
 * (Triton's kReservedParameterKeys and the `triton_` prefix).
 */
import { Errors } from './errors';
import type { InferRequest } from './types';

/** Triton's kReservedParameterKeys (common.h). */
const RESERVED = new Set(['sequence_id', 'sequence_start', 'sequence_end', 'priority', 'timeout', 'headers', 'binary_data_output']);

/**
 * The pattern as Triton compiles it: case-insensitive (Triton prefixes RE2's `(?i)`), unless it starts with RE2's
 * `(?-i)`, which turns that off (JavaScript has no such inline flag: it is read here). Throws SyntaxError for a bad one.
 */
export function headerForwardPattern(pattern: string): RegExp {
  if (pattern.startsWith('(?-i)')) return new RegExp(pattern.slice(5));
  return new RegExp(pattern.startsWith('(?i)') ? pattern.slice(4) : pattern, 'i');
}

/** The request with the matching headers added as string parameters; `headers` are [name, value] pairs. */
export function forwardHeaders(request: InferRequest, headers: Iterable<readonly [string, string]>, pattern: RegExp): InferRequest {
  let parameters: Record<string, string> | undefined;
  for (const [name, value] of headers) {
    if (!pattern.test(name)) continue;
    if (RESERVED.has(name) || name.startsWith('triton_')) throw Errors.headerReserved(name);
    parameters ??= {};
    parameters[name] = value;
  }
  return parameters ? { ...request, parameters: { ...request.parameters, ...parameters } } : request;
}
