import threading
import time

import numpy as np
import triton_python_backend_utils as pb_utils

# Only reached when no cancellation ever comes (a broken server): the test then fails on its counts, not on a hang.
WAIT_LIMIT_S = 20


def out(value):
    return pb_utils.InferenceResponse([pb_utils.Tensor("OUT", np.array([value], dtype=np.int32))])


class TritonPythonModel:
    def initialize(self, args):
        self.cancelled = 0

    def execute(self, requests):
        for request in requests:
            sender = request.get_response_sender()
            value = int(pb_utils.get_input_tensor_by_name(request, "IN").as_numpy()[0])
            if value == 0:
                sender.send(out(self.cancelled), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
                continue
            sender.send(out(value))
            # As Triton's decoupled examples: execute returns, a thread goes on with the request.
            threading.Thread(target=self.wait_for_cancel, args=(request, sender, value), daemon=True).start()
        return None

    def wait_for_cancel(self, request, sender, value):
        deadline = time.monotonic() + WAIT_LIMIT_S
        while not sender.is_cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        if sender.is_cancelled() and request.is_cancelled():
            self.cancelled += 1
        sender.send(out(value + 1), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
