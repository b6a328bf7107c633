import json
import os
import time

import numpy as np
import triton_python_backend_utils as pb_utils


def one(value):
    return pb_utils.InferenceResponse([pb_utils.Tensor("OUT", np.array([value], dtype=np.int32))])


class TritonPythonModel:
    def execute(self, requests):
        for request in requests:
            mode = pb_utils.get_input_tensor_by_name(request, "MODE").as_numpy()[0].decode()
            sender = request.get_response_sender()
            if mode == "parameters":
                # As Triton's mock_llm: the request parameters say how many responses, and whether OUT is empty.
                parameters = json.loads(request.parameters())
                value = np.array([], dtype=np.int32) if parameters.get("empty") else np.array([7], dtype=np.int32)
                for _ in range(parameters.get("count", 1)):
                    sender.send(pb_utils.InferenceResponse([pb_utils.Tensor("OUT", value)]))
                sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
                continue
            if mode == "return_list":
                return [one(1)]  # not None: refused, in Triton's words
            sender.send(one(1))
            if mode == "raise_after_final":
                sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
                raise ValueError("raised after the final flag")
            if mode == "raise":
                raise ValueError("failed after the first response")
            if mode == "crash":
                time.sleep(0.2)
                os._exit(7)
            if mode == "twice_final":
                sender.send(one(2), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
                try:
                    sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
                except pb_utils.TritonModelException as error:
                    print("second final refused: %s" % error, flush=True)
                continue
            sender.send(one(2), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        return None
