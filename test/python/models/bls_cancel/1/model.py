import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    async def execute(self, requests):
        responses = []
        for request in requests:
            value = pb_utils.get_input_tensor_by_name(request, "IN").as_numpy()
            mode = pb_utils.get_input_tensor_by_name(request, "MODE").as_numpy()[0].decode()
            call = pb_utils.InferenceRequest(
                model_name="cancel_probe", requested_output_names=["OUT"], inputs=[pb_utils.Tensor("IN", value)]
            )
            iterator = await call.async_exec(decoupled=True) if mode == "async" else call.exec(decoupled=True)
            seen, errors = [], 0
            for response in iterator:
                if response.has_error():
                    errors += 1
                    continue
                out = pb_utils.get_output_tensor_by_name(response, "OUT")
                if out is None:  # the final flag alone
                    continue
                seen.append(int(out.as_numpy()[0]))
                if len(seen) == 1:
                    # cancel_probe answers once, then waits until it sees its request cancelled.
                    iterator.cancel()
            iterator.cancel()  # after the final response: nothing happens
            responses.append(
                pb_utils.InferenceResponse(
                    [
                        pb_utils.Tensor("OUT", np.array(seen, dtype=np.int32)),
                        pb_utils.Tensor("ERRORS", np.array([errors], dtype=np.int32)),
                    ]
                )
            )
        return responses
