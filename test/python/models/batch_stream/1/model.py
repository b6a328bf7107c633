import threading
import time

import numpy as np
import triton_python_backend_utils as pb_utils

# Only reached when no cancellation ever comes (a broken server): the test then fails on its counts, not on a hang.
WAIT_LIMIT_S = 20


class TritonPythonModel:
    def initialize(self, args):
        self.cancelled = 0

    def execute(self, requests):
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, "IN").as_numpy().copy()
            threading.Thread(
                target=self.answer, args=(request, request.get_response_sender(), values, len(requests)), daemon=True
            ).start()
        return None

    def response(self, values, count):
        return pb_utils.InferenceResponse(
            [
                pb_utils.Tensor("OUT", values),
                pb_utils.Tensor("REQUESTS", np.array([[count]], dtype=np.int32)),
                pb_utils.Tensor("CANCELLED", np.array([[self.cancelled]], dtype=np.int32)),
            ]
        )

    def answer(self, request, sender, values, count):
        first = int(values.flat[0])
        if first < 0:
            error = pb_utils.TritonError("negative input %d" % first)
            sender.send(pb_utils.InferenceResponse(error=error), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            return
        if first == 0 and values.size == 1:
            sender.send(self.response(values, count))
            deadline = time.monotonic() + WAIT_LIMIT_S
            while not sender.is_cancelled() and time.monotonic() < deadline:
                time.sleep(0.005)
            if sender.is_cancelled() and request.is_cancelled():
                self.cancelled += 1
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            return
        sender.send(self.response(values, count), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
