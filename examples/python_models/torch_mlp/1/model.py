"""torch_mlp: a PyTorch MLP (784 -> 1024 -> 1024 -> 10) served by the Python backend, on CUDA when available."""
import json

import numpy as np
import triton_python_backend_utils as pb_utils
import torch


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        threads = int(config.get("parameters", {}).get("TORCH_NUM_THREADS", {}).get("string_value", "0"))
        if threads > 0:
            torch.set_num_threads(threads)
        if args["model_instance_kind"] == "GPU" and torch.cuda.is_available():
            self.device = torch.device("cuda:%s" % args["model_instance_device_id"])
        else:
            self.device = torch.device("cpu")
        torch.manual_seed(0)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(784, 1024),
            torch.nn.ReLU(),
            torch.nn.Linear(1024, 1024),
            torch.nn.ReLU(),
            torch.nn.Linear(1024, 10),
        ).to(self.device).eval()
        pb_utils.Logger.log_info("torch_mlp on %s (torch %s)" % (self.device, torch.__version__))

    def execute(self, requests):
        responses = []
        with torch.inference_mode():
            for request in requests:
                inputs = pb_utils.get_input_tensor_by_name(request, "INPUT0")
                x = torch.from_numpy(inputs.as_numpy()).to(self.device)
                logits = self.net(x)
                # from_dlpack copies a CUDA result to the CPU; on the CPU it shares the memory.
                responses.append(pb_utils.InferenceResponse([pb_utils.Tensor.from_dlpack("OUTPUT0", logits)]))
        return responses

    def finalize(self):
        self.net = None
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
