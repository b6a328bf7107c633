import numpy as np
import triton_python_backend_utils as pb_utils


def summarize(responses):
    total = count = errors = 0
    for response in responses:
        count += 1
        if response.has_error():
            errors += 1
            continue
        out = pb_utils.get_output_tensor_by_name(response, "OUT")
        if out is not None:
            total += int(out.as_numpy()[0])
    return total, count, errors


class TritonPythonModel:
    async def execute(self, requests):
        responses = []
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, "IN").as_numpy()
            mode = pb_utils.get_input_tensor_by_name(request, "MODE").as_numpy()[0].decode()
            call = pb_utils.InferenceRequest(
                model_name="repeat", requested_output_names=["OUT"], inputs=[pb_utils.Tensor("IN", values)]
            )
            if mode == "async":
                iterator = await call.async_exec(decoupled=True)
                collected = [response async for response in iterator]
            else:
                collected = list(call.exec(decoupled=True))
            total, count, errors = summarize(collected)
            responses.append(
                pb_utils.InferenceResponse(
                    [
                        pb_utils.Tensor("SUM", np.array([total], dtype=np.int32)),
                        pb_utils.Tensor("COUNT", np.array([count], dtype=np.int32)),
                        pb_utils.Tensor("ERRORS", np.array([errors], dtype=np.int32)),
                    ]
                )
            )
        return responses
