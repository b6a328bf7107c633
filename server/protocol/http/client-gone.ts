/**
 * Request cancellation over HTTP, as Triton does it: its HTTP frontend cancels an inference request
 * (TRITONSERVER_InferenceRequestCancel) when the connection's request ends before the reply was sent — infer,
 * generate and generate_stream alike (src/http_server.cc, InferRequestClass::RequestFiniHook, since r23.12).
 * The returned signal aborts when the response closes unfinished: the client went away (closed the connection,
 * dropped an SSE stream) before the last byte was written; a pipelined request queued behind another response on
 * the same connection too. What honours it is what honours a cancelled gRPC stream:
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
  // A pipelined request whose response waits behind another one on the connection has no socket yet, and Node
  // never emits 'close' on such a response when the connection goes: only the socket tells. Until the response
  // ends (then the response's own 'close' serves), so a kept-alive socket does not gather listeners.
  const socket = response.socket ? undefined : response.req.socket;
  if (socket && !response.destroyed) {
    if (socket.destroyed) closed();
    else {
      socket.once('close', closed);
      const forget = () => socket.removeListener('close', closed);
      response.once('finish', forget);
      response.once('close', forget);
    }
  }
  return cancellation;
}
