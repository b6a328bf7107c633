"""What pb_utils calls into the stub for: BLS calls (InferenceRequest.exec / async_exec) and decoupled responses
(InferenceRequest.get_response_sender().send). The stub installs one Runtime as triton_python_backend_utils._runtime.
"""

import asyncio
import json
import queue
import threading

from stub_channel import send_message


class Runtime:
    def __init__(self, channel, arena, pb_utils, np):
        self.channel = channel
        self.arena = arena
        self.pb_utils = pb_utils
        self.np = np

    # -- tensors -------------------------------------------------------------------------------------------------

    def plan(self, tensors, wanted=None):
        """pb_utils.Tensor list -> (name, datatype, shape, data, size) tuples for OutputArena.write."""
        np = self.np
        pb_utils = self.pb_utils
        planned = []
        for tensor in tensors:
            if wanted and tensor.name() not in wanted:
                continue
            array = tensor.as_numpy()
            datatype = pb_utils.ENUM_TO_KSERVE.get(tensor.triton_dtype())
            if datatype is None:
                raise pb_utils.TritonModelException("tensor '%s' has a data type the server cannot take" % tensor.name())
            if datatype == "BYTES":
                data = pb_utils._serialize_bytes(array)
                size = len(data)
            else:
                data = np.ascontiguousarray(array)
                size = data.nbytes
            planned.append((tensor.name(), datatype, list(array.shape), data, size))
        return planned

    def response_payload(self, response, wanted=None):
        """An InferenceResponse as message fields: {"error": ...} or {"region": n, "outputs": [...]}."""
        if response.has_error():
            error = response.error()
            return {"error": {"message": str(error.message()), "code": int(error.code())}}
        region, (outputs,) = self.arena.write([self.plan(response.output_tensors(), wanted)])
        return {"region": region, "outputs": outputs}

    # -- decoupled responses -----------------------------------------------------------------------------------

    def send_response(self, execute_id, index, response, flags, wanted):
        message = {"type": "response", "id": execute_id, "index": index, "flags": int(flags)}
        if response is not None:
            message.update(self.response_payload(response, wanted))
        if flags & self.pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL:
            self.channel.untrack_request(execute_id, index)  # the request is over: no cancel can reach it
        send_message(message)

    # -- custom metrics ------------------------------------------------------------------------------------------

    def metric_call(self, fields):
        """One custom-metrics operation on the server (pb_utils.MetricFamily / Metric); returns its reply."""
        results = queue.Queue()
        call_id = self.channel.register(lambda message, tensors, error: results.put(message))
        if self.channel.closed:
            self.channel.forget(call_id)
            raise self.pb_utils.TritonModelException("the server closed the stub's channel")
        send_message(dict(fields, type="metric", id=call_id))
        reply = results.get()
        error = reply.get("error")
        if error is not None:
            raise self.pb_utils.TritonModelException(error.get("message") if isinstance(error, dict) else str(error))
        return reply

    def metric_release(self, fields):
        """A deletion (a MetricFamily or Metric object went away): not answered."""
        if not self.channel.closed:
            send_message(dict(fields, type="metric"))

    # -- BLS -----------------------------------------------------------------------------------------------------

    def _call_message(self, request, decoupled):
        pb_utils = self.pb_utils
        if not request.model_name():
            raise pb_utils.TritonModelException("BLS requests need a model_name")
        region, (inputs,) = self.arena.write([self.plan(request.inputs())])
        parameters = request.parameters()
        return {
            "type": "bls",
            "region": region,
            "model_name": request.model_name(),
            "model_version": int(request._model_version),
            "request_id": request.request_id(),
            "inputs": inputs,
            "requested_output_names": list(request.requested_output_names()),
            "correlation_id": request.correlation_id(),
            "flags": int(request.flags()),
            "timeout": int(request.timeout() or 0),
            "parameters": json.loads(parameters) if isinstance(parameters, str) and parameters else {},
            "decoupled": bool(decoupled),
        }

    def _response(self, message, tensors, error):
        pb_utils = self.pb_utils
        if error is not None:
            return pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error)))
        if "error" in message:
            failure = message["error"]
            return pb_utils.InferenceResponse(error=pb_utils.TritonError(failure["message"], failure.get("code", 1)))
        return pb_utils.InferenceResponse(tensors or [])

    def _start(self, request, decoupled, on_message):
        message = self._call_message(request, decoupled)
        call_id = self.channel.register(on_message)
        message["id"] = call_id
        if self.channel.closed:
            self.channel.forget(call_id)
            raise self.pb_utils.TritonModelException("the server closed the stub's channel")
        send_message(message)
        return call_id

    def exec(self, request, decoupled):
        """Blocking BLS call: one InferenceResponse, or (decoupled) an iterator of them."""
        results = queue.Queue()
        call = {"id": self._start(request, decoupled, lambda message, tensors, error: results.put((message, tensors, error)))}
        if decoupled:
            return ResponseIterator(self, results.get, call)
        message, tensors, error = results.get()
        return self._response(message, tensors, error)

    def async_exec(self, request, decoupled):
        """An awaitable for `await request.async_exec()`; many may be in flight (asyncio.gather)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        call = {}  # its "id" is set once _start returns; the reader thread may hand over a reply before that
        if decoupled:
            results = queue.Queue()

            def on_message(message, tensors, error):
                results.put((message, tensors, error))
                if not future.done():
                    iterator = ResponseIterator(self, results.get, call)
                    loop.call_soon_threadsafe(lambda: future.done() or future.set_result(iterator))
        else:

            def on_message(message, tensors, error):
                response = self._response(message, tensors, error)
                loop.call_soon_threadsafe(lambda: future.done() or future.set_result(response))

        call["id"] = self._start(request, decoupled, on_message)
        return future


class ResponseIterator:
    """Responses of a BLS call to a decoupled model, ending with the final one (empty when the model sent the final
    flag alone), as Triton's iterator yields them. Iterate with `for` (blocks) or `async for`."""

    def __init__(self, runtime, take, call):
        self._runtime = runtime
        self._take = take
        self._call = call  # {"id": the BLS call id}
        self._done = False
        self._lock = threading.Lock()

    def __iter__(self):
        return self

    def cancel(self):
        """Cancel the call, as Triton's iterator does: the server cancels the called model's request (a queued one
        is answered CANCELLED; a running one sees request.is_cancelled() and decides when to stop), and responses
        keep coming until the final one. A no-op once the final response has come, or when the server is gone."""
        if self._done or self._runtime.channel.closed:
            return
        send_message({"type": "bls_cancel", "id": self._call["id"]})

    def __next__(self):
        with self._lock:
            if self._done:
                raise StopIteration
            message, tensors, error = self._take()
            if message.get("final", True):
                self._done = True
            return self._runtime._response(message, tensors, error)

    def __aiter__(self):
        return self

    def _next_or_none(self):
        try:
            return self.__next__()
        except StopIteration:  # cannot cross into a Future
            return None

    async def __anext__(self):
        response = await asyncio.get_running_loop().run_in_executor(None, self._next_or_none)
        if response is None:
            raise StopAsyncIteration
        return response
