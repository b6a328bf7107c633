import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        self.instance = args["model_instance_name"]
        self.decoupled = pb_utils.using_decoupled_model_transaction_policy(config)
        self.requests_family = pb_utils.MetricFamily(
            name="probe_requests", description="Requests the probe served", kind=pb_utils.MetricFamily.COUNTER
        )
        self.requests_metric = self.requests_family.Metric(labels={"model": args["model_name"]})

    def execute(self, requests):
        responses = []
        for request in requests:
            mode = pb_utils.get_input_tensor_by_name(request, "MODE").as_numpy()[0].decode()
            self.requests_metric.increment(1)
            bls_output = np.zeros([0], dtype=np.float32)
            if mode == "bls_bytes":
                call = pb_utils.InferenceRequest(
                    model_name=b"identity",
                    requested_output_names=["OUTPUT0"],
                    inputs=[pb_utils.Tensor("INPUT0", np.array([1.5, 2.5], dtype=np.float32))],
                )
                reply = call.exec()
                if reply.has_error():
                    raise pb_utils.TritonModelException(reply.error().message())
                bls_output = pb_utils.get_output_tensor_by_name(reply, "OUTPUT0").as_numpy()
            outputs = [
                pb_utils.Tensor("PARAMETERS", np.array([request.parameters()], dtype=object)),
                pb_utils.Tensor("REQUEST_ID", np.array([request.request_id()], dtype=object)),
                pb_utils.Tensor("INSTANCE", np.array([self.instance], dtype=object)),
                pb_utils.Tensor("DECOUPLED", np.array([self.decoupled], dtype=bool)),
                pb_utils.Tensor("BLS_OUTPUT", bls_output),
            ]
            responses.append(pb_utils.InferenceResponse(outputs))
        return responses
