import { Errors, InferenceError } from './errors';
import type { Tensor } from './tensor';
import type { InferResponse } from './types';

/**
 * Streaming inference (decoupled models): a request may get any number of responses, then a final flag, which can
 * come with the last response or alone. Frontends (gRPC ModelStreamInfer, HTTP generate_stream) and Python BLS
 * receive them through one listener.
 */

/** Which endpoint a request came through (decides how a decoupled model is refused). */
export type InferCaller = 'http' | 'grpc' | 'bls' | 'stream' | 'ensemble';

/** One response of a stream, or an error that fails only this response (the stream goes on until the final flag). */
export type InferStreamEvent = { readonly response: InferResponse } | { readonly error: InferenceError };

/** Called per response; `event` is undefined when the final flag comes alone. */
export type InferStreamListener = (event: InferStreamEvent | undefined, final: boolean) => void;

/** What a backend hands the scheduler per response of a decoupled execution: outputs, or one response's error. */
export type StreamedResponse = { readonly outputs: Tensor[] } | { readonly error: InferenceError };

/** Receives a decoupled execution's responses as they come; `final` marks the last (possibly without a response). */
export type ResponseSink = (response: StreamedResponse | undefined, final: boolean) => void;

export function toStreamEvent(
  streamed: StreamedResponse,
  header: { readonly model: string; readonly version: string; readonly id?: string },
): InferStreamEvent {
  return 'error' in streamed ? { error: streamed.error } : { response: { ...header, outputs: streamed.outputs } };
}

/** A decoupled model asked for one response: refused in the words Triton uses for that endpoint. */
export function decoupledRefusal(caller: InferCaller, model: string): InferenceError {
  if (caller === 'grpc') return Errors.decoupledOverModelInfer();
  if (caller === 'bls') return Errors.decoupledOverBls(model);
  return Errors.decoupledOverHttp();
}
