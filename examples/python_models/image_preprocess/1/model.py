"""image_preprocess: UINT8 [28, 28] images -> FP32 [784], scaled to [0, 1] then standardised with MEAN and STD."""
import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        parameters = json.loads(args["model_config"]).get("parameters", {})
        self.mean = np.float32(parameters.get("MEAN", {}).get("string_value", "0"))
        self.std = np.float32(parameters.get("STD", {}).get("string_value", "1"))

    def execute(self, requests):
        responses = []
        for request in requests:
            images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
            batch = images.shape[0]
            scaled = images.reshape(batch, -1).astype(np.float32) / np.float32(255)
            normalised = (scaled - self.mean) / self.std
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("INPUT0", normalised)]))
        return responses
