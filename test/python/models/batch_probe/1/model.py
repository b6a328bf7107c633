import json
import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        parameters = json.loads(args["model_config"])["parameters"]
        self.sleep = float(parameters["SLEEP_SECONDS"]["string_value"])

    def execute(self, requests):
        time.sleep(self.sleep)
        responses = []
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            rows = values.shape[0]
            responses.append(
                pb_utils.InferenceResponse(
                    [
                        pb_utils.Tensor("OUTPUT0", values * 2),
                        pb_utils.Tensor("ROWS", np.full((rows, 1), rows, dtype=np.int32)),
                        pb_utils.Tensor("REQUESTS", np.full((rows, 1), len(requests), dtype=np.int32)),
                    ]
                )
            )
        return responses
