"""Decoupled: execute() returns None at once; a thread sends IN[i] as its own response (OUT, with its index IDX),
DELAY ms apart, then TRITONSERVER_RESPONSE_COMPLETE_FINAL with no response, as Triton's repeat example does.
A negative element makes that response an error response (the stream goes on)."""

import threading
import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.threads = []

    def execute(self, requests):
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, "IN").as_numpy().reshape(-1).copy()
            delay = pb_utils.get_input_tensor_by_name(request, "DELAY")
            delay_ms = int(delay.as_numpy().reshape(-1)[0]) if delay is not None else 0
            thread = threading.Thread(target=self.send_all, args=(request.get_response_sender(), values, delay_ms))
            thread.start()
            self.threads.append(thread)
        return None

    def send_all(self, sender, values, delay_ms):
        for index, value in enumerate(values):
            if delay_ms > 0:
                time.sleep(delay_ms / 1000)
            if value < 0:
                sender.send(pb_utils.InferenceResponse(error=pb_utils.TritonError("negative value at %d" % index)))
                continue
            sender.send(
                pb_utils.InferenceResponse(
                    [
                        pb_utils.Tensor("OUT", np.array([value], dtype=np.int32)),
                        pb_utils.Tensor("IDX", np.array([index], dtype=np.int32)),
                    ]
                )
            )
        sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)

    def finalize(self):
        for thread in self.threads:
            thread.join()
