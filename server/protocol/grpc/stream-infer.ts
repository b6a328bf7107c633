/**
 * ModelStreamInfer: every request of the stream runs through the facade's streaming path, so a decoupled model's
 * responses are written as they come (any number per request) and any other model's one response as before.
 * As in Triton, every response (errors too) carries the `triton_final_response` parameter, and a request that sets
 * `triton_enable_empty_final_response` also gets an empty response carrying only that flag when the final flag comes
 * alone.
 */
import type { Metadata } from '@grpc/grpc-js';
import { attachSignal, Cancellation } from '../../core/cancellation';
import { forwardHeaders } from '../../core/header-forwarding';
import type { Logger } from 'pino';
import { InferenceError } from '../../core/errors';
import type { InferenceServiceApi } from '../../core/service-api';
import type { RequestTrace } from '../../core/request-trace';
import type { InferRequest, InferResponse } from '../../core/types';
import { checkWith, decodeInferRequest, encodeInferResponse } from './codec';
import { streamErrorMessage } from './errors';
import type { ModelInferRequestMessage, ModelInferResponseMessage, ModelStreamInferResponseMessage } from './messages';

const ENABLE_EMPTY_FINAL = 'triton_enable_empty_final_response';
const FINAL_RESPONSE = 'triton_final_response';

/** The request with its gRPC receive timestamps when it may be traced (startNs taken before decoding). */
export function received(request: InferRequest, startNs: bigint | undefined): InferRequest {
  if (startNs === undefined) return request;
  return { ...request, received: { protocol: 'GRPC', startNs, endNs: process.hrtime.bigint() } };
}

/**
 * The request with the metadata --grpc-header-forward-pattern selects as string parameters (text entries only).
 * The call's metadata is read only when there is a pattern (the lean path builds it on first read).
 */
export function withMetadata(request: InferRequest, call: { readonly metadata: CallMetadata }, pattern: RegExp | undefined): InferRequest {
  if (!pattern) return request;
  const pairs = Object.entries(call.metadata.getMap()).flatMap(([key, value]) => (typeof value === 'string' ? [[key, value] as const] : []));
  return forwardHeaders(request, pairs, pattern);
}

/** What the handlers read of a call's request metadata (grpc-js's Metadata, or the lean path's). */
export type CallMetadata = Pick<Metadata, 'getMap'>;

/**
 * The part of a bidirectional call the stream handler uses: grpc-js's ServerDuplexStream or the lean path's call
 * (lean-infer.ts) both serve it.
 */
export interface StreamInferCall {
  readonly metadata: CallMetadata;
  readonly cancelled: boolean;
  write(message: ModelStreamInferResponseMessage, callback?: () => void): unknown;
  end(): void;
  on(event: 'data', listener: (message: ModelInferRequestMessage) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  /** The client is gone (RST_STREAM, closed connection, deadline). */
  on(event: 'cancelled', listener: () => void): unknown;
}

export function streamInferHandler(service: InferenceServiceApi, log: Logger | undefined, headerForwardPattern?: RegExp) {
  return (call: StreamInferCall) => {
    let pending = 0;
    let ended = false;
    const ordered = new InOrderWriter();
    // As Triton cancels a cancelled stream's requests: a streaming ensemble starts no further steps for them.
    // grpc-js also emits 'cancelled' after the status that end() sends: from then on it is no client gone (see
    // service.ts), and it must not cancel what a request left running (an ensemble's siblings of a failed step).
    let answered = false;
    const cancellation = new Cancellation();
    call.on('cancelled', () => {
      if (!answered) cancellation.cancel();
    });
    const finishIfDone = () => {
      if (ended && pending === 0 && !call.cancelled) {
        answered = true;
        call.end();
      }
    };
    const write = (message: ModelStreamInferResponseMessage, trace?: RequestTrace) => {
      if (call.cancelled) return trace?.finish();
      if (!trace) return void call.write(message);
      // A traced response (Triton's trace extension) records when it is handed over and when it is written.
      trace.capture('GRPC_SEND_START');
      try {
        call.write(message, () => {
          trace.capture('GRPC_SEND_END');
          trace.finish();
        });
      } catch (error) {
        trace.finish();
        throw error;
      }
    };
    const writeError = (request: ModelInferRequestMessage, error: unknown, final = true) => {
      if (!(error instanceof InferenceError)) log?.error({ err: error }, 'unexpected error in a gRPC stream');
      write({
        error_message: streamErrorMessage(error),
        infer_response: {
          model_name: request.model_name ?? '',
          model_version: request.model_version ?? '',
          id: request.id ?? '',
          outputs: [],
          parameters: { [FINAL_RESPONSE]: { bool_param: final } },
        },
      });
    };
    call.on('data', (message: ModelInferRequestMessage) => {
      const startNs = service.isTracing() ? process.hrtime.bigint() : undefined;
      let request: InferRequest;
      let flagFinal: boolean;
      try {
        const decoded = received(decodeInferRequest(message, checkWith(service, message)).request, startNs);
        ({ request, flagFinal } = withoutStreamParameters(withMetadata(decoded, call, headerForwardPattern)));
        attachSignal(request, cancellation);
      } catch (error) {
        // A refusal keeps its request's place too (Triton queues it behind earlier requests' answers): it goes out
        // at once only when nothing before it is still waiting.
        const refused = ordered.open();
        ordered.emit(refused, () => writeError(message, error));
        ordered.close(refused);
        return;
      }
      pending += 1;
      // Triton answers a stream's requests to non-decoupled models in the order they came; a decoupled model's
      // responses go out as they come.
      const slot = service.isDecoupled(request.model, request.version) ? undefined : ordered.open();
      const emit = (send: () => void) => (slot ? ordered.emit(slot, send) : send());
      // The served version, from a response, for an empty final answer (built only when it is asked for).
      let header: InferResponse | undefined;
      service
        .inferStream(request, (event, final) => {
          if (event && 'error' in event) {
            emit(() => writeError(message, event.error, final));
            return;
          }
          if (event && flagFinal) header = { ...event.response, outputs: [] };
          if (!event && !flagFinal) return; // the final flag alone: nothing to send unless asked for
          const response = event?.response ?? header ?? { model: request.model, version: request.version ?? '', ...(request.id !== undefined ? { id: request.id } : {}), outputs: [] };
          const encoded = withFinalFlag(encodeInferResponse(response), final);
          emit(() => write({ error_message: '', infer_response: encoded }, event?.response.trace));
        })
        .catch((error: unknown) => emit(() => writeError(message, error)))
        .finally(() => {
          if (slot) ordered.close(slot);
          pending -= 1;
          finishIfDone();
        });
    });
    call.on('end', () => {
      ended = true;
      finishIfDone();
    });
    call.on('error', (error) => log?.debug({ err: error }, 'gRPC stream error'));
  };
}

/**
 * As Triton: every response says whether it is the request's last (the empty final one only when asked for). Set on
 * the message encodeInferResponse has just built, which is this call's own (its parameter map too), rather than on a
 * copy of the response: no per-message copy, and the response (a cached one, one a decoupled model still holds) stays
 * as it is. The flag lands where spreading it into the response's parameters put it (last, or in place of a key of
 * that name), so the wire bytes are the same.
 */
function withFinalFlag(message: ModelInferResponseMessage, final: boolean): ModelInferResponseMessage {
  (message.parameters ??= {})[FINAL_RESPONSE] = { bool_param: final };
  return message;
}

/** Take the stream's own request parameter out before the facade (which refuses every `triton_` key) sees it. */
function withoutStreamParameters(request: InferRequest): { request: InferRequest; flagFinal: boolean } {
  if (!request.parameters || !(ENABLE_EMPTY_FINAL in request.parameters)) return { request, flagFinal: false };
  const { [ENABLE_EMPTY_FINAL]: flag, ...rest } = request.parameters;
  return { request: { ...request, parameters: rest }, flagFinal: flag === true };
}

/** One request's place in its stream's answer order: writes held until it is at the head. */
interface OrderSlot {
  readonly held: Array<() => void>;
  done: boolean;
}

/** Per stream: requests' writes leave in the order the requests came; a later request's wait until earlier ones end. */
export class InOrderWriter {
  private readonly slots: OrderSlot[] = [];

  open(): OrderSlot {
    const slot: OrderSlot = { held: [], done: false };
    this.slots.push(slot);
    return slot;
  }

  emit(slot: OrderSlot, send: () => void): void {
    if (this.slots[0] === slot) send();
    else slot.held.push(send);
  }

  /** The slot's request is over: the next ones send what they held, in order, up to one still running. */
  close(slot: OrderSlot): void {
    slot.done = true;
    while (this.slots.length > 0 && this.slots[0].done) {
      this.slots.shift();
      const head = this.slots[0];
      if (!head) break;
      for (const send of head.held.splice(0)) send();
    }
  }
}
