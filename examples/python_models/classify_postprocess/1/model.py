"""classify_postprocess: FP32 logits [10] -> PROBABILITIES (softmax), LABEL (BYTES, from labels.txt), SCORE."""
import os

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        # args["model_repository"] is this model's directory: labels.txt sits beside config.pbtxt.
        with open(os.path.join(args["model_repository"], "labels.txt"), encoding="utf-8") as labels:
            self.labels = np.array([line.strip().encode("utf-8") for line in labels if line.strip()], dtype=object)

    def execute(self, requests):
        responses = []
        for request in requests:
            logits = pb_utils.get_input_tensor_by_name(request, "LOGITS").as_numpy().astype(np.float64)
            shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
            probabilities = shifted / shifted.sum(axis=1, keepdims=True)
            best = probabilities.argmax(axis=1)
            outputs = [
                pb_utils.Tensor("PROBABILITIES", probabilities.astype(np.float32)),
                pb_utils.Tensor("LABEL", self.labels[best].reshape(-1, 1)),
                pb_utils.Tensor("SCORE", probabilities[np.arange(len(best)), best].astype(np.float32).reshape(-1, 1)),
            ]
            responses.append(pb_utils.InferenceResponse(output_tensors=outputs))
        return responses
