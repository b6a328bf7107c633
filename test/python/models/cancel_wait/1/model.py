import time

import numpy as np
import triton_python_backend_utils as pb_utils

# Only reached when no cancellation ever comes (a broken server): the test then fails on its count, not on a hang
# (and before the server's 30 s execute limit would stop the stub).
WAIT_LIMIT_S = 20


class TritonPythonModel:
    def initialize(self, args):
        self.cancelled = 0

    def execute(self, requests):
        responses = []
        for request in requests:
            value = int(pb_utils.get_input_tensor_by_name(request, "IN").as_numpy()[0])
            if value != 0:
                print("waiting %d" % value, flush=True)
                deadline = time.monotonic() + WAIT_LIMIT_S
                while not request.is_cancelled() and time.monotonic() < deadline:
                    time.sleep(0.005)
                if request.is_cancelled():
                    self.cancelled += 1
            answer = value if value != 0 else self.cancelled
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUT", np.array([answer], dtype=np.int32))]))
        return responses
