import sys

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.instance = args["model_instance_name"]

    def execute(self, requests):
        info = np.array([sys.executable, np.__version__, self.instance], dtype=object)
        return [pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT0", info)]) for _ in requests]
