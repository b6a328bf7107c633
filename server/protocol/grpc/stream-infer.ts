/**
 * ModelStreamInfer: every request of the stream runs through the facade's streaming path, so a decoupled model's
 * responses are written as they come (any number per request) and any other model's one response as before.
 * As in Triton, every response (errors too) carries the `triton_final_response` parameter, and a request that sets
 * `triton_enable_empty_final_response` also gets an empty response carrying only that flag when the final flag comes
 * alone.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { InferenceError } from '../../core/errors';
import type { InferenceServiceApi } from '../../core/service-api';
import type { RequestTrace } from '../../core/request-trace';
import type { InferRequest, InferResponse } from '../../core/types';
import { decodeInferRequest, encodeInferResponse } from './codec';
import { streamErrorMessage } from './errors';
import type { ModelInferRequestMessage, ModelStreamInferResponseMessage } from './messages';

const ENABLE_EMPTY_FINAL = 'triton_enable_empty_final_response';
const FINAL_RESPONSE = 'triton_final_response';

/** The request with its gRPC receive timestamps when it may be traced (startNs taken before decoding). */
export function received(request: InferRequest, startNs: bigint | undefined): InferRequest {
  if (startNs === undefined) return request;
  return { ...request, received: { protocol: 'GRPC', startNs, endNs: process.hrtime.bigint() } };
}

export function streamInferHandler(service: InferenceServiceApi, log: Logger | undefined) {
  return (call: ServerDuplexStream<ModelInferRequestMessage, ModelStreamInferResponseMessage>) => {
    let pending = 0;
    let ended = false;
    const finishIfDone = () => {
      if (ended && pending === 0 && !call.cancelled) call.end();
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
        ({ request, flagFinal } = withoutStreamParameters(received(decodeInferRequest(message).request, startNs)));
      } catch (error) {
        writeError(message, error);
        return;
      }
      pending += 1;
      let header: InferResponse = { model: request.model, version: request.version ?? '', ...(request.id !== undefined ? { id: request.id } : {}), outputs: [] };
      service
        .inferStream(request, (event, final) => {
          if (event && 'error' in event) {
            writeError(message, event.error, final);
            return;
          }
          if (event) header = { ...event.response, outputs: [] }; // the final flag alone answers with the served version
          if (!event && !flagFinal) return; // the final flag alone: nothing to send unless asked for
          const response = event?.response ?? header;
          // As Triton: every response says whether it is the request's last; the empty final one only when asked for.
          const flagged = { ...response, parameters: { ...response.parameters, [FINAL_RESPONSE]: final } };
          write({ error_message: '', infer_response: encodeInferResponse(flagged) }, event?.response.trace);
        })
        .catch((error: unknown) => writeError(message, error))
        .finally(() => {
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

/** Take the stream's own request parameter out before the facade (which refuses every `triton_` key) sees it. */
function withoutStreamParameters(request: InferRequest): { request: InferRequest; flagFinal: boolean } {
  if (!request.parameters || !(ENABLE_EMPTY_FINAL in request.parameters)) return { request, flagFinal: false };
  const { [ENABLE_EMPTY_FINAL]: flag, ...rest } = request.parameters;
  return { request: { ...request, parameters: rest }, flagFinal: flag === true };
}
