import os
import signal
import time

import numpy as np
import triton_python_backend_utils as pb_utils


def check(value):
    if value < 0:
        raise ValueError("bad input: %d" % value)


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            mode = pb_utils.get_input_tensor_by_name(request, "MODE").as_numpy()[0].decode()
            if mode == "raise":
                check(-1)
            elif mode == "error":
                responses.append(
                    pb_utils.InferenceResponse(error=pb_utils.TritonError("custom failure", pb_utils.TritonError.INVALID_ARG))
                )
                continue
            elif mode == "error_default":
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError("An Error Occurred")))
                continue
            elif mode == "model_exception":
                raise pb_utils.TritonModelException("model says no")
            elif mode == "crash":
                os._exit(3)
            elif mode == "segfault":
                os.kill(os.getpid(), signal.SIGSEGV)
            elif mode == "hang":
                time.sleep(600)
            elif mode == "count_mismatch":
                return []
            elif mode == "not_a_list":
                return "nope"
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("PID", np.array([os.getpid()], dtype=np.int64))]))
        return responses
