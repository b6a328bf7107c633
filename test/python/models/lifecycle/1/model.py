"""OUTPUT0 = INPUT0 + OFFSET. initialize and finalize leave marker files in the model directory."""
import json
import os

import numpy as np
import triton_python_backend_utils as pb_utils

OFFSET = 100


class TritonPythonModel:
    def initialize(self, args):
        self.directory = args["model_repository"]
        self.name = args["model_instance_name"]
        config = json.loads(args["model_config"])
        assert config["name"] == args["model_name"] == "lifecycle"
        assert args["model_instance_kind"] == "CPU"
        if os.path.exists(os.path.join(self.directory, "fail_initialize")):
            raise RuntimeError("initialize refused: fail_initialize exists")
        with open(os.path.join(self.directory, "initialized-%s-%d" % (self.name, os.getpid())), "w") as marker:
            marker.write(args["model_version"])

    def execute(self, requests):
        return [
            pb_utils.InferenceResponse(
                [pb_utils.Tensor("OUTPUT0", pb_utils.get_input_tensor_by_name(r, "INPUT0").as_numpy() + OFFSET)]
            )
            for r in requests
        ]

    def finalize(self):
        with open(os.path.join(self.directory, "finalized-%s-%d" % (self.name, os.getpid())), "w") as marker:
            marker.write("done")
