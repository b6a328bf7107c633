/**
 * Request cancellation over HTTP, as Triton does it: its HTTP frontend cancels an inference request
 * (TRITONSERVER_InferenceRequestCancel) when the connection's request ends before the reply was sent — infer,
 * generate and generate_stream alike (src/http_server.cc, InferRequestClass::RequestFiniHook, since r23.12).
 * The returned signal aborts when the response closes unfinished: the client went away (closed the connection,
 * dropped an SSE stream) before the last byte was written. What honours it is what honours a cancelled gRPC stream:
 * a streaming ensemble starts no further steps, steps waiting for a backpressure slot leave the queue, and a Python
 * model's request.is_cancelled() / response_sender.is_cancelled() turn true.
 */
import type { ServerResponse } from 'node:http';
import { Cancellation, type CancelSignal } from '../../core/cancellation';

export function clientGoneSignal(response: ServerResponse): CancelSignal {
  const cancellation = new Cancellation();
  const closed = () => {
    if (!response.writableFinished) cancellation.cancel();
  };
  // Gone already (while the body was read): its 'close' has passed.
  if (response.destroyed) closed();
  else response.once('close', closed);
  return cancellation;
}
