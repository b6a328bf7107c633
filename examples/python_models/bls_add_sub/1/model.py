"""BLS: OUTPUT0/OUTPUT1 come from the `add_sub` model, called from execute().

MODE "sync" calls it with exec(); "async" makes execute a coroutine's work: two async_exec calls in flight at once
(asyncio.gather), one for the sum and one for the difference; any other MODE is taken as the model name to call,
so a client sees what an error of the called model (unknown model, bad inputs) looks like: an error response.
"""

import asyncio

import numpy as np
import triton_python_backend_utils as pb_utils


def add_sub_request(model_name, input0, input1, outputs):
    return pb_utils.InferenceRequest(
        model_name=model_name,
        requested_output_names=outputs,
        inputs=[
            pb_utils.Tensor("INPUT0", input0.reshape(1, -1)),
            pb_utils.Tensor("INPUT1", input1.reshape(1, -1)),
        ],
    )


def first_row(response, name):
    return pb_utils.get_output_tensor_by_name(response, name).as_numpy().reshape(-1)


class TritonPythonModel:
    async def execute(self, requests):
        responses = []
        for request in requests:
            input0 = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy().astype(np.float32)
            input1 = pb_utils.get_input_tensor_by_name(request, "INPUT1").as_numpy().astype(np.float32)
            mode = pb_utils.get_input_tensor_by_name(request, "MODE").as_numpy()[0].decode()
            if mode == "async":
                both = await asyncio.gather(
                    add_sub_request("add_sub", input0, input1, ["OUTPUT0"]).async_exec(),
                    add_sub_request("add_sub", input0, input1, ["OUTPUT1"]).async_exec(),
                )
                failed = [r for r in both if r.has_error()]
                if failed:
                    responses.append(pb_utils.InferenceResponse(error=failed[0].error()))
                    continue
                sum_, difference = first_row(both[0], "OUTPUT0"), first_row(both[1], "OUTPUT1")
            else:
                model = "add_sub" if mode == "sync" else mode
                response = add_sub_request(model, input0, input1, ["OUTPUT0", "OUTPUT1"]).exec()
                if response.has_error():
                    # The called model's error, passed on as this request's error response.
                    responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(response.error().message())))
                    continue
                sum_, difference = first_row(response, "OUTPUT0"), first_row(response, "OUTPUT1")
            responses.append(
                pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT0", sum_), pb_utils.Tensor("OUTPUT1", difference)])
            )
        return responses
