import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            values = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            assert values.dtype == np.object_, values.dtype
            reversed_values = np.array([bytes(v)[::-1] for v in values.reshape(-1)], dtype=object).reshape(values.shape)
            lengths = np.array([len(v) for v in values.reshape(-1)], dtype=np.int32).reshape(values.shape)
            responses.append(
                pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT0", reversed_values), pb_utils.Tensor("LENGTHS", lengths)])
            )
        return responses
