"""Unit tests of our triton_python_backend_utils and the stub's channel (run by pb-utils.test.ts with the backend's
interpreter)."""
import contextlib
import gc
import io
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "server", "backends", "python"))

import numpy as np  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from stub_channel import Channel  # noqa: E402


class BytesTensors(unittest.TestCase):
    def test_round_trip_keeps_nul_bytes_and_empty_elements(self):
        values = np.array([b"a\x00b", b"", "wörld"], dtype=object)
        serialized = pb_utils.serialize_byte_tensor(values)
        self.assertEqual(serialized.dtype, np.uint8)
        self.assertEqual(serialized.tobytes(), b"\x03\x00\x00\x00a\x00b\x00\x00\x00\x00\x06\x00\x00\x00w\xc3\xb6rld")
        back = pb_utils.deserialize_bytes_tensor(serialized.tobytes())
        self.assertEqual(back.dtype, np.object_)
        self.assertEqual(list(back), [b"a\x00b", b"", "wörld".encode()])

    def test_empty_and_non_string_tensors_serialize_to_none(self):
        self.assertIsNone(pb_utils.serialize_byte_tensor(np.array([], dtype=object)))
        self.assertIsNone(pb_utils.serialize_byte_tensor(np.array([1, 2], dtype=np.int32)))

    def test_many_elements_of_one_length_take_the_vectorised_path_with_the_same_bytes(self):
        # Large same-length tensors are split and laid out by numpy; the result must equal the element-wise form,
        # including elements ending in NUL (which numpy's fixed-width bytes would drop) and empty elements.
        for elements in ([b"A"] * 5000, [b"ab\x00"] * 5000, [b""] * 5000, [b"xyz", b"ab"] * 3000, ["s\u00f6"] * 3000):
            values = np.array(elements, dtype=object)
            expected = b"".join(
                len(e if isinstance(e, bytes) else e.encode()).to_bytes(4, "little") + (e if isinstance(e, bytes) else e.encode())
                for e in elements
            )
            serialized = pb_utils.serialize_byte_tensor(values).tobytes()
            self.assertEqual(serialized, expected)
            back = pb_utils.deserialize_bytes_tensor(serialized)
            self.assertEqual(back.dtype, np.object_)
            self.assertEqual(list(back), [e if isinstance(e, bytes) else e.encode() for e in elements])
            self.assertTrue(all(type(item) is bytes for item in back))

    def test_truncated_buffer_is_an_error(self):
        with self.assertRaises(pb_utils.TritonModelException):
            pb_utils.deserialize_bytes_tensor(b"\x05\x00\x00\x00ab")


class Tensors(unittest.TestCase):
    def test_dtype_mapping_both_ways(self):
        for name, numpy_type in pb_utils.TRITON_STRING_TO_NUMPY.items():
            enum_value = getattr(pb_utils, name)
            self.assertEqual(pb_utils.numpy_to_triton_type(numpy_type), enum_value)
            self.assertEqual(np.dtype(pb_utils.triton_to_numpy_type(enum_value)), np.dtype(numpy_type))
        self.assertEqual(pb_utils.triton_string_to_numpy("TYPE_FP32"), np.float32)
        self.assertIsNone(pb_utils.triton_to_numpy_type(pb_utils.TYPE_BF16))

    def test_tensor_reports_name_dtype_shape(self):
        tensor = pb_utils.Tensor("OUT", np.zeros((2, 3), dtype=np.float16))
        self.assertEqual(tensor.name(), "OUT")
        self.assertEqual(tensor.triton_dtype(), pb_utils.TYPE_FP16)
        self.assertEqual(tensor.shape(), [2, 3])
        self.assertTrue(tensor.is_cpu())

    def test_unicode_arrays_become_object_bytes(self):
        tensor = pb_utils.Tensor("S", np.array(["ab", "c"]))
        self.assertEqual(tensor.as_numpy().dtype, np.object_)
        self.assertEqual(list(tensor.as_numpy()), [b"ab", b"c"])
        self.assertEqual(tensor.triton_dtype(), pb_utils.TYPE_STRING)

    def test_unsupported_dtype_is_refused(self):
        with self.assertRaises(pb_utils.TritonModelException):
            pb_utils.Tensor("C", np.zeros(2, dtype=np.complex64))

    def test_explicit_triton_dtype_reinterprets(self):
        tensor = pb_utils.Tensor("U", np.array([1.0], dtype=np.float32), pb_utils.TYPE_INT32)
        self.assertEqual(tensor.as_numpy().dtype, np.int32)
        self.assertEqual(int(tensor.as_numpy()[0]), 0x3F800000)

    def test_dlpack_round_trip(self):
        array = np.arange(6, dtype=np.float32).reshape(2, 3)
        tensor = pb_utils.Tensor.from_dlpack("D", array)
        np.testing.assert_array_equal(tensor.as_numpy(), array)
        capsule_holder = pb_utils.Tensor("E", array)
        np.testing.assert_array_equal(np.from_dlpack(_DlpackWrapper(capsule_holder)), array)


class _DlpackWrapper:
    def __init__(self, tensor):
        self.tensor = tensor

    def __dlpack__(self, **_kwargs):
        return self.tensor.to_dlpack()

    def __dlpack_device__(self):
        return (1, 0)


class RequestsAndResponses(unittest.TestCase):
    def test_lookup_helpers(self):
        tensor = pb_utils.Tensor("IN", np.zeros(1, dtype=np.int32))
        request = pb_utils.InferenceRequest(inputs=[tensor], requested_output_names=["OUT"], parameters={"k": 1})
        self.assertIs(pb_utils.get_input_tensor_by_name(request, "IN"), tensor)
        self.assertIsNone(pb_utils.get_input_tensor_by_name(request, "NOPE"))
        self.assertEqual(request.parameters(), '{"k": 1}')
        response = pb_utils.InferenceResponse([pb_utils.Tensor("OUT", np.ones(1))])
        self.assertEqual(pb_utils.get_output_tensor_by_name(response, "OUT").name(), "OUT")
        self.assertFalse(response.has_error())

    def test_response_checks_its_arguments(self):
        with self.assertRaises(pb_utils.TritonModelException):
            pb_utils.InferenceResponse(output_tensors="not a list")
        with self.assertRaises(pb_utils.TritonModelException):
            pb_utils.InferenceResponse([np.zeros(1)])

    def test_errors(self):
        error = pb_utils.TritonError("boom")
        self.assertEqual(error.code(), pb_utils.TritonError.INTERNAL)
        self.assertEqual(error.message(), "boom")
        response = pb_utils.InferenceResponse(error=pb_utils.TritonError("nf", pb_utils.TritonError.NOT_FOUND))
        self.assertTrue(response.has_error())
        self.assertEqual(response.error().code(), pb_utils.TritonError.NOT_FOUND)
        self.assertEqual(str(pb_utils.TritonModelException("x")), "x")

    def test_logger_levels_are_its_own_attributes_too(self):
        logger = pb_utils.Logger
        self.assertEqual([logger.INFO, logger.WARNING, logger.ERROR, logger.VERBOSE], [
            logger.LogLevel.INFO, logger.LogLevel.WARNING, logger.LogLevel.ERROR, logger.LogLevel.VERBOSE])
        self.assertEqual(len({logger.INFO, logger.WARNING, logger.ERROR, logger.VERBOSE}), 4)
        captured = io.StringIO()
        with contextlib.redirect_stderr(captured):
            logger.log("a warning", logger.WARNING)
            logger.log("plain")
        self.assertEqual(captured.getvalue(), "W python: a warning\nI python: plain\n")

    def test_outside_a_stub_bls_and_senders_say_why(self):
        request = pb_utils.InferenceRequest(model_name="other", inputs=[], requested_output_names=[])
        with self.assertRaisesRegex(pb_utils.TritonModelException, "only available inside a model served"):
            request.exec()
        # Not a request of a decoupled model: no sender.
        with self.assertRaisesRegex(pb_utils.TritonModelException, "decoupled: true"):
            request.get_response_sender()

    def test_response_sender_closes_after_the_final_flag(self):
        sent = []

        class Runtime:
            def send_response(self, execute_id, index, response, flags, wanted):
                sent.append((execute_id, index, response is not None, flags))

        saved = pb_utils._runtime
        pb_utils._runtime = Runtime()
        try:
            sender = pb_utils.InferenceResponseSender(5, 0, [])
            sender.send(pb_utils.InferenceResponse([]))
            with self.assertRaisesRegex(pb_utils.TritonModelException, "must be provided"):
                sender.send()
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            with self.assertRaisesRegex(pb_utils.TritonModelException, "Response sender has been closed"):
                sender.send(pb_utils.InferenceResponse([]))
        finally:
            pb_utils._runtime = saved
        self.assertEqual(sent, [(5, 0, True, 0), (5, 0, False, 1)])

    def test_config_lookups(self):
        config = {"input": [{"name": "A", "data_type": "TYPE_FP32"}], "output": [{"name": "B", "data_type": "TYPE_INT8"}]}
        self.assertEqual(pb_utils.get_input_config_by_name(config, "A")["data_type"], "TYPE_FP32")
        self.assertEqual(pb_utils.get_output_config_by_name(config, "B")["data_type"], "TYPE_INT8")
        self.assertIsNone(pb_utils.get_output_config_by_name(config, "A"))


class AutoCompleteModelConfig(unittest.TestCase):
    def test_adds_inputs_and_outputs_and_fills_missing_fields(self):
        config = pb_utils.ModelConfig({"name": "m", "input": [{"name": "A"}]})
        config.add_input({"name": "A", "data_type": "TYPE_FP32", "dims": [4]})
        config.add_output({"name": "B", "data_type": "TYPE_FP32", "dims": [4]})
        self.assertEqual(config.as_dict()["input"], [{"name": "A", "data_type": "TYPE_FP32", "dims": [4]}])
        self.assertEqual(config.as_dict()["output"], [{"name": "B", "data_type": "TYPE_FP32", "dims": [4]}])

    def test_conflicting_input_is_refused(self):
        config = pb_utils.ModelConfig({"name": "m", "input": [{"name": "A", "data_type": "TYPE_INT32", "dims": [4]}]})
        with self.assertRaises(ValueError):
            config.add_input({"name": "A", "data_type": "TYPE_FP32", "dims": [4]})
        with self.assertRaises(ValueError):
            config.add_input({"name": "A", "dims": [5]})
        with self.assertRaises(ValueError):
            config.add_input({"name": "C", "data_type": "TYPE_NOPE"})

    def test_max_batch_size_rules(self):
        config = pb_utils.ModelConfig({"name": "m", "max_batch_size": 0})
        config.set_max_batch_size(4)
        self.assertEqual(config.as_dict()["max_batch_size"], 4)
        smaller = pb_utils.ModelConfig({"name": "m", "max_batch_size": 2})
        smaller.set_max_batch_size(4)  # the configuration may ask for less than the model allows
        self.assertEqual(smaller.as_dict()["max_batch_size"], 2)
        larger = pb_utils.ModelConfig({"name": "m", "max_batch_size": 8})
        with self.assertRaises(ValueError):
            larger.set_max_batch_size(4)

    def test_dynamic_batching_and_transaction_policy(self):
        config = pb_utils.ModelConfig('{"name": "m"}')
        config.set_dynamic_batching()
        config.set_model_transaction_policy({"decoupled": False})
        self.assertEqual(config.as_dict()["dynamic_batching"], {})
        self.assertEqual(config.as_dict()["model_transaction_policy"], {"decoupled": False})
        sequence = pb_utils.ModelConfig({"name": "m", "sequence_batching": {}})
        with self.assertRaises(ValueError):
            sequence.set_dynamic_batching()


class StubChannelRequests(unittest.TestCase):
    """The channel's map of running requests, which cancel messages name by (execute id, index)."""

    @staticmethod
    def decoupled_request(execute_id, index):
        request = pb_utils.InferenceRequest(inputs=[pb_utils.Tensor("IN", np.zeros(1 << 16, dtype=np.int8))], requested_output_names=[])
        request._response_sender = pb_utils.InferenceResponseSender(execute_id, index, [], request)
        return request

    def test_a_cancel_marks_a_tracked_request_and_one_that_comes_before_its_request(self):
        channel = Channel(None, None)
        running = self.decoupled_request(1, 0)
        channel.track_request(1, 0, running, decoupled=True)
        channel._cancel({"type": "cancel", "id": 1, "index": 0})
        self.assertTrue(running.is_cancelled() and running._response_sender.is_cancelled())
        channel._cancel({"type": "cancel", "id": 2, "index": 0})
        early = self.decoupled_request(2, 0)
        channel.track_request(2, 0, early, decoupled=True)
        self.assertTrue(early.is_cancelled())
        self.assertEqual(channel.cancelled_early, set())

    def test_tracking_a_request_does_not_rebuild_the_early_cancels_when_there_are_none(self):
        # track_request runs for every request under the channel's lock: the common case must not copy a set.
        channel = Channel(None, None)
        kept = channel.cancelled_early
        for execute_id in range(3):
            channel.track_request(execute_id, 0, self.decoupled_request(execute_id, 0))
        self.assertIs(channel.cancelled_early, kept)

    def test_a_request_the_model_no_longer_holds_is_not_kept_by_the_channel(self):
        # A decoupled model that drops a request without its final flag: the channel must not keep it (and its
        # inputs) for the stub's life. The request and its sender refer to each other, so it takes a collection.
        channel = Channel(None, None)
        channel.track_request(7, 0, self.decoupled_request(7, 0), decoupled=True)
        held = self.decoupled_request(7, 1)
        channel.track_request(7, 1, held, decoupled=True)
        gc.collect()
        self.assertEqual(list(channel.streaming.keys()), [(7, 1)])
        # A cancel for the dropped one is harmless; the held one is still cancellable.
        channel._cancel({"type": "cancel", "id": 7, "index": 0})
        channel._cancel({"type": "cancel", "id": 7, "index": 1})
        self.assertTrue(held.is_cancelled())
        channel.untrack_request(7, 1)
        self.assertEqual(list(channel.streaming.keys()), [])


if __name__ == "__main__":
    unittest.main()
