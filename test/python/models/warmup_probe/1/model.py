"""OUTPUT0 = INPUT0; every execute() call appends one JSON line per request to calls.jsonl in the model directory."""
import json
import os

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.log = os.path.join(args["model_repository"], "calls.jsonl")
        self.name = args["model_instance_name"]

    def execute(self, requests):
        responses = []
        for request in requests:
            input0 = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            input1 = pb_utils.get_input_tensor_by_name(request, "INPUT1").as_numpy()
            if os.path.exists(os.path.join(os.path.dirname(self.log), "fail_execute")):
                raise RuntimeError("execute refused: fail_execute exists")
            record = {
                "instance": self.name,
                "pid": os.getpid(),
                "rows": int(input0.shape[0]),
                "input0": input0.tolist(),
                "input1": [[bytes(v).decode() for v in row] for row in input1],
            }
            with open(self.log, "a") as out:
                out.write(json.dumps(record) + "\n")
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT0", input0)]))
        return responses
