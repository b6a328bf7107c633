"""The `triton_python_backend_utils` module that Triton Python models import (usually as `pb_utils`).

Written for cdk8s-inference-server from the interface Triton documents for its Python backend
(python_backend README: Tensor, InferenceRequest, InferenceResponse, TritonError, TritonModelException,
ModelConfig for auto_complete_config, Logger, and the helper functions). Models written for Triton import
it unchanged; the stub process (stub.py) builds the requests and reads the responses.

Business Logic Scripting (InferenceRequest.exec / async_exec) and decoupled response senders go through the
stub's runtime (stub_runtime.py), installed here as `_runtime`, and so do custom metrics (MetricFamily, Metric).
"""

import json
import struct
import sys
import threading

import numpy as np

# Set by the stub (stub_runtime.Runtime): carries BLS calls and decoupled responses to the server.
_runtime = None


def _require_runtime(what):
    if _runtime is None:
        raise TritonModelException("%s is only available inside a model served by the inference server" % what)
    return _runtime

# ---------------------------------------------------------------------------------------------------------------
# Constants with Triton's values.

TRITONSERVER_RESPONSE_COMPLETE_FINAL = 1

TRITONSERVER_REQUEST_FLAG_SEQUENCE_START = 1
TRITONSERVER_REQUEST_FLAG_SEQUENCE_END = 2

TRITONSERVER_REQUEST_RELEASE_ALL = 1
TRITONSERVER_REQUEST_RELEASE_RESCHEDULE = 2

TRITONSERVER_MEMORY_CPU = 0
TRITONSERVER_MEMORY_CPU_PINNED = 1
TRITONSERVER_MEMORY_GPU = 2

# model_config.proto DataType enum values.
TYPE_INVALID = 0
TYPE_BOOL = 1
TYPE_UINT8 = 2
TYPE_UINT16 = 3
TYPE_UINT32 = 4
TYPE_UINT64 = 5
TYPE_INT8 = 6
TYPE_INT16 = 7
TYPE_INT32 = 8
TYPE_INT64 = 9
TYPE_FP16 = 10
TYPE_FP32 = 11
TYPE_FP64 = 12
TYPE_STRING = 13
TYPE_BF16 = 14

TRITON_STRING_TO_NUMPY = {
    "TYPE_BOOL": bool,
    "TYPE_UINT8": np.uint8,
    "TYPE_UINT16": np.uint16,
    "TYPE_UINT32": np.uint32,
    "TYPE_UINT64": np.uint64,
    "TYPE_INT8": np.int8,
    "TYPE_INT16": np.int16,
    "TYPE_INT32": np.int32,
    "TYPE_INT64": np.int64,
    "TYPE_FP16": np.float16,
    "TYPE_FP32": np.float32,
    "TYPE_FP64": np.float64,
    "TYPE_STRING": np.object_,
}

_ENUM_TO_NUMPY = {
    TYPE_BOOL: np.bool_,
    TYPE_UINT8: np.uint8,
    TYPE_UINT16: np.uint16,
    TYPE_UINT32: np.uint32,
    TYPE_UINT64: np.uint64,
    TYPE_INT8: np.int8,
    TYPE_INT16: np.int16,
    TYPE_INT32: np.int32,
    TYPE_INT64: np.int64,
    TYPE_FP16: np.float16,
    TYPE_FP32: np.float32,
    TYPE_FP64: np.float64,
    TYPE_STRING: np.object_,
}

# KServe v2 datatype names (what travels between the server and the stub) <-> enum values.
KSERVE_TO_ENUM = {
    "BOOL": TYPE_BOOL,
    "UINT8": TYPE_UINT8,
    "UINT16": TYPE_UINT16,
    "UINT32": TYPE_UINT32,
    "UINT64": TYPE_UINT64,
    "INT8": TYPE_INT8,
    "INT16": TYPE_INT16,
    "INT32": TYPE_INT32,
    "INT64": TYPE_INT64,
    "FP16": TYPE_FP16,
    "FP32": TYPE_FP32,
    "FP64": TYPE_FP64,
    "BYTES": TYPE_STRING,
    "BF16": TYPE_BF16,
}
ENUM_TO_KSERVE = {value: key for key, value in KSERVE_TO_ENUM.items()}


def triton_string_to_numpy(triton_type_string):
    """'TYPE_FP32' -> np.float32 (the data_type strings of the model configuration)."""
    return TRITON_STRING_TO_NUMPY[triton_type_string]


def triton_to_numpy_type(data_type):
    """model_config.proto DataType value -> numpy type; None when numpy has no such type (BF16)."""
    return _ENUM_TO_NUMPY.get(data_type)


def numpy_to_triton_type(data_type):
    """numpy dtype or type -> model_config.proto DataType value, or None."""
    try:
        dtype = np.dtype(data_type)
    except TypeError:
        return None
    if dtype == np.object_ or dtype.type == np.bytes_ or dtype.type == np.str_:
        return TYPE_STRING
    for enum_value, numpy_type in _ENUM_TO_NUMPY.items():
        if numpy_type is not np.object_ and dtype == np.dtype(numpy_type):
            return enum_value
    return None


# ---------------------------------------------------------------------------------------------------------------
# BYTES serialisation: each element is a 4-byte little-endian length followed by its bytes.


def serialize_byte_tensor(input_tensor):
    """Serialise a BYTES tensor (dtype object, bytes_ or str_) into a 1-D uint8 array, elements in C order.

    Returns None for an empty tensor or a tensor that is not of a string type, as Triton's helper does.
    """
    if input_tensor.size == 0:
        return None
    if input_tensor.dtype != np.object_ and input_tensor.dtype.type not in (np.bytes_, np.str_):
        return None
    return np.frombuffer(_serialize_bytes(input_tensor), dtype=np.uint8)


def _element_bytes(item):
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, np.bytes_):
        return bytes(item)
    return str(item).encode("utf-8")


def _serialize_bytes(array):
    flat = np.asarray(array, dtype=object).reshape(-1, order="C")
    fast = _serialize_same_length(flat)
    if fast is not None:
        return fast
    parts = []
    for item in flat:
        data = _element_bytes(item)
        parts.append(struct.pack("<I", len(data)))
        parts.append(data)
    return b"".join(parts)


def _serialize_same_length(flat):
    """Many `bytes` elements of one length (a common shape of large BYTES tensors) laid out by numpy in one pass,
    instead of a Python loop per element; None when the elements are not all bytes of one length."""
    if len(flat) < 1024:
        return None
    items = flat.tolist()
    if set(map(type, items)) != {bytes}:
        return None
    lengths = set(map(len, items))
    if len(lengths) != 1:
        return None
    (length,) = lengths
    out = np.empty((len(items), 4 + length), dtype=np.uint8)
    out[:, :4] = np.frombuffer(struct.pack("<I", length), dtype=np.uint8)
    if length:
        out[:, 4:] = np.frombuffer(b"".join(items), dtype=np.uint8).reshape(len(items), length)
    return out.tobytes()


def deserialize_bytes_tensor(encoded_tensor):
    """Parse serialised BYTES into a 1-D numpy array of dtype object holding bytes."""
    view = memoryview(encoded_tensor).cast("B")
    fast = _deserialize_same_length(view)
    if fast is not None:
        return fast
    elements = []
    offset = 0
    end = len(view)
    while offset < end:
        if offset + 4 > end:
            raise TritonModelException("malformed BYTES tensor: truncated length prefix")
        (length,) = struct.unpack_from("<I", view, offset)
        offset += 4
        if offset + length > end:
            raise TritonModelException("malformed BYTES tensor: element runs past the end of the buffer")
        elements.append(bytes(view[offset : offset + length]))
        offset += length
    result = np.empty(len(elements), dtype=object)
    result[:] = elements
    return result


def _deserialize_same_length(view):
    """Serialised elements that all have the first element's length, split by numpy in one pass (a Python loop per
    element takes seconds for millions of them); None when they do not, or when an element ends in a NUL byte
    (numpy's fixed-width bytes would drop it)."""
    end = len(view)
    if end < 4 * 1024:
        return None
    (length,) = struct.unpack_from("<I", view, 0)
    stride = 4 + length
    if end % stride:
        return None
    rows = np.frombuffer(view, dtype=np.uint8).reshape(end // stride, stride)
    if not (rows[:, :4].copy().view("<u4") == length).all():
        return None
    if length == 0:
        result = np.empty(len(rows), dtype=object)
        result[:] = [b""] * len(rows)
        return result
    if not rows[:, -1].all():
        return None
    return np.ascontiguousarray(rows[:, 4:]).view("S%d" % length).reshape(-1).astype(object)


# ---------------------------------------------------------------------------------------------------------------
# Errors.


class TritonError:
    """An error to put in an InferenceResponse. The code defaults to INTERNAL, as in Triton."""

    UNKNOWN = 0
    INTERNAL = 1
    NOT_FOUND = 2
    INVALID_ARG = 3
    UNAVAILABLE = 4
    UNSUPPORTED = 5
    ALREADY_EXISTS = 6
    CANCELLED = 7

    def __init__(self, message, code=INTERNAL):
        self._message = message
        self._code = code

    def __str__(self):
        return "" if self._message is None else str(self._message)

    def __repr__(self):
        return "TritonError(%r, %r)" % (self._message, self._code)

    def message(self):
        return self._message

    def code(self):
        return self._code


class TritonModelException(Exception):
    """Raised by models (and by this module) for errors in initialize, execute or finalize."""

    def __init__(self, msg):
        super().__init__(msg)
        self._msg = msg

    def __str__(self):
        return "" if self._msg is None else str(self._msg)

    def message(self):
        return self._msg


# ---------------------------------------------------------------------------------------------------------------
# Tensors, requests and responses.


class Tensor:
    """A named tensor backed by a numpy array (inputs are views of the server's shared memory)."""

    def __init__(self, name, numpy_array, triton_dtype=None):
        if not isinstance(name, str):
            raise TritonModelException("Tensor name must be a string, got %r" % (type(name).__name__,))
        if not isinstance(numpy_array, np.ndarray):
            if hasattr(numpy_array, "__dlpack__") or hasattr(numpy_array, "numpy"):
                raise TritonModelException(
                    "Tensor '%s': expected a numpy array; use pb_utils.Tensor.from_dlpack() for framework tensors"
                    % name
                )
            numpy_array = np.asarray(numpy_array)
        if numpy_array.dtype.type in (np.str_, np.bytes_):
            # Triton asks for np.object_; converting keeps the values (np.bytes_ would drop trailing NULs).
            converted = np.empty(numpy_array.shape, dtype=object)
            converted.reshape(-1)[:] = [_element_bytes(item) for item in numpy_array.reshape(-1)]
            numpy_array = converted
        if triton_dtype is not None:
            numpy_type = triton_to_numpy_type(triton_dtype)
            if numpy_type is None:
                raise TritonModelException("Tensor '%s': data type %r is not supported" % (name, triton_dtype))
            if numpy_array.dtype != np.dtype(numpy_type):
                numpy_array = numpy_array.view(numpy_type)
        else:
            triton_dtype = numpy_to_triton_type(numpy_array.dtype)
            if triton_dtype is None:
                raise TritonModelException(
                    "Tensor '%s': numpy dtype %s is not supported by the Python backend" % (name, numpy_array.dtype)
                )
        self._name = name
        self._array = numpy_array
        self._triton_dtype = triton_dtype

    def name(self):
        return self._name

    def triton_dtype(self):
        return self._triton_dtype

    def shape(self):
        return list(self._array.shape)

    def as_numpy(self):
        return self._array

    def is_cpu(self):
        return True

    def to_dlpack(self):
        """A DLPack capsule of the data (CPU), for torch.utils.dlpack.from_dlpack and friends."""
        if self._array.dtype == np.object_:
            raise TritonModelException("Tensor '%s': BYTES tensors cannot be exported with DLPack" % self._name)
        array = self._array
        if not array.flags.writeable:
            array = array.copy()
        return array.__dlpack__()

    @staticmethod
    def from_dlpack(name, dlpack_tensor):
        """A Tensor from a DLPack-capable object (a torch tensor, a capsule, ...). GPU tensors are copied to CPU."""
        array = None
        try:
            array = np.from_dlpack(dlpack_tensor)
        except Exception:  # GPU memory, capsules, or older numpy
            cpu = getattr(dlpack_tensor, "cpu", None)
            if callable(cpu):
                array = cpu().numpy()
            else:
                try:
                    import torch.utils.dlpack  # noqa: F401 (only when torch is installed)

                    array = torch.utils.dlpack.from_dlpack(dlpack_tensor).cpu().numpy()
                except Exception as error:  # pragma: no cover - depends on the environment
                    raise TritonModelException("Tensor '%s': cannot import from DLPack: %s" % (name, error))
        return Tensor(name, array)

    @staticmethod
    def _from_server(name, datatype, array):
        tensor = Tensor.__new__(Tensor)
        tensor._name = name
        tensor._array = array
        tensor._triton_dtype = KSERVE_TO_ENUM[datatype]
        return tensor

    def __repr__(self):
        return "Tensor(%r, shape=%s, dtype=%s)" % (self._name, list(self._array.shape), self._array.dtype)


class InferenceRequest:
    """A request handed to TritonPythonModel.execute, or built by a model to call another one (BLS)."""

    def __init__(
        self,
        model_name="",
        inputs=None,
        requested_output_names=None,
        request_id="",
        correlation_id=0,
        flags=0,
        model_version=-1,
        timeout=0,
        preferred_memory=None,
        parameters=None,
        **_ignored,
    ):
        # Triton's binding takes str or bytes (UTF-8) for the names; models built on bytes config values pass bytes.
        self._model_name = _text(model_name)
        self._inputs = list(inputs or [])
        self._requested_output_names = list(requested_output_names or [])
        self._request_id = _text(request_id)
        self._correlation_id = correlation_id
        self._flags = flags
        self._model_version = model_version
        self._timeout = timeout
        if parameters is None:
            parameters = {}
        self._parameters = parameters if isinstance(parameters, str) else json.dumps(parameters)
        self._release_flags = TRITONSERVER_REQUEST_RELEASE_ALL
        self._cancelled = False
        self._response_sender = None

    def inputs(self):
        return self._inputs

    def requested_output_names(self):
        return self._requested_output_names

    def request_id(self):
        return self._request_id

    def correlation_id(self):
        return self._correlation_id

    def flags(self):
        return self._flags

    def parameters(self):
        """The request parameters as a JSON string (json.loads it)."""
        return self._parameters

    def timeout(self):
        return self._timeout

    def model_name(self):
        return self._model_name

    def is_cancelled(self):
        """Whether the request's client has gone (a cancelled gRPC stream, a closed HTTP connection)."""
        return self._cancelled

    def set_release_flags(self, flags):
        if flags & TRITONSERVER_REQUEST_RELEASE_RESCHEDULE:
            raise TritonModelException("request rescheduling is not supported by this server")
        self._release_flags = flags

    def get_response_sender(self):
        """The sender of a decoupled model's responses for this request (one sender per request)."""
        if self._response_sender is None:
            raise TritonModelException(
                "get_response_sender is only available for models with model_transaction_policy { decoupled: true }"
            )
        return self._response_sender

    def exec(self, decoupled=False):
        """Run this request on model_name (Business Logic Scripting); blocks. Returns an InferenceResponse (errors of
        the called model are error responses), or with decoupled=True an iterator of them."""
        return _require_runtime("InferenceRequest.exec").exec(self, decoupled)

    def async_exec(self, decoupled=False):
        """Like exec, as an awaitable for `async def execute`; several may run at once (asyncio.gather)."""
        return _require_runtime("InferenceRequest.async_exec").async_exec(self, decoupled)


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    return value


class InferenceResponseSender:
    """Sends a decoupled model's responses for one request: any number of send(response), then
    send(flags=TRITONSERVER_RESPONSE_COMPLETE_FINAL), with or without a last response."""

    def __init__(self, execute_id, index, requested_output_names, request=None):
        self._execute_id = execute_id
        self._index = index
        self._request = request  # whose cancellation is_cancelled() reports
        self._wanted = set(requested_output_names or [])
        self._closed = False
        self._lock = threading.Lock()

    def send(self, response=None, flags=0):
        with self._lock:
            if self._closed:
                raise TritonModelException("Unable to send response. Response sender has been closed.")
            if response is not None and not isinstance(response, InferenceResponse):
                raise TritonModelException("send expects a pb_utils.InferenceResponse, got %s" % type(response).__name__)
            if response is None and not (flags & TRITONSERVER_RESPONSE_COMPLETE_FINAL):
                raise TritonModelException("Inference Response object must be provided when the response flags is not"
                                           " set to TRITONSERVER_RESPONSE_COMPLETE_FINAL.")
            if flags & TRITONSERVER_RESPONSE_COMPLETE_FINAL:
                self._closed = True
            _require_runtime("InferenceResponseSender.send").send_response(
                self._execute_id, self._index, response, flags, self._wanted
            )

    def is_cancelled(self):
        """Whether the request's client has gone (a cancelled gRPC stream, a closed HTTP connection)."""
        return self._request is not None and self._request._cancelled


class InferenceResponse:
    """The response to one request: output tensors, or an error."""

    def __init__(self, output_tensors=None, error=None, parameters=None):
        if output_tensors is None:
            output_tensors = []
        if not isinstance(output_tensors, list):
            raise TritonModelException('"output_tensors" must be a list.')
        for tensor in output_tensors:
            if not isinstance(tensor, Tensor):
                raise TritonModelException(
                    '"output_tensors" must hold pb_utils.Tensor objects, got %s' % type(tensor).__name__
                )
        if error is not None and not isinstance(error, TritonError):
            raise TritonModelException('"error" must be a pb_utils.TritonError, got %s' % type(error).__name__)
        self._output_tensors = output_tensors
        self._error = error
        self._parameters = parameters or {}

    def output_tensors(self):
        return self._output_tensors

    def has_error(self):
        return self._error is not None

    def error(self):
        return self._error

    def parameters(self):
        return json.dumps(self._parameters)


def get_input_tensor_by_name(inference_request, name):
    """The input Tensor called `name` of the request, or None."""
    for tensor in inference_request.inputs():
        if tensor.name() == name:
            return tensor
    return None


def get_output_tensor_by_name(inference_response, name):
    """The output Tensor called `name` of the response, or None."""
    for tensor in inference_response.output_tensors():
        if tensor.name() == name:
            return tensor
    return None


def using_decoupled_model_transaction_policy(model_config):
    """Whether the model configuration (the dict json.loads(args["model_config"]) gives) is decoupled."""
    policy = model_config.get("model_transaction_policy") or {}
    return bool(policy.get("decoupled", False))


def get_input_config_by_name(model_config, name):
    """The input entry of the model configuration (a dict) called `name`, or None."""
    for entry in model_config.get("input", []):
        if entry.get("name") == name:
            return entry
    return None


def get_output_config_by_name(model_config, name):
    """The output entry of the model configuration (a dict) called `name`, or None."""
    for entry in model_config.get("output", []):
        if entry.get("name") == name:
            return entry
    return None


# ---------------------------------------------------------------------------------------------------------------
# auto_complete_config.


class ModelConfig:
    """The model configuration handed to `auto_complete_config`, in protobuf-JSON form (proto field names)."""

    def __init__(self, model_config):
        if isinstance(model_config, str):
            model_config = json.loads(model_config)
        self._config = model_config
        self._config.setdefault("input", [])
        self._config.setdefault("output", [])

    def as_dict(self):
        return self._config

    def set_max_batch_size(self, max_batch_size):
        if not isinstance(max_batch_size, int) or isinstance(max_batch_size, bool) or max_batch_size < 0:
            raise ValueError("set_max_batch_size: max_batch_size must be a non-negative integer")
        configured = int(self._config.get("max_batch_size") or 0)
        if configured > 0 and configured > max_batch_size:
            raise ValueError(
                "configuration specified max_batch_size %d, but in auto-complete-config function for model '%s' "
                "specified max_batch_size %d" % (configured, self._config.get("name", ""), max_batch_size)
            )
        if configured == 0:
            self._config["max_batch_size"] = max_batch_size

    def set_dynamic_batching(self):
        if self._config.get("sequence_batching") is not None:
            raise ValueError(
                "set_dynamic_batching: configuration for model '%s' specifies sequence_batching"
                % self._config.get("name", "")
            )
        if self._config.get("dynamic_batching") is None:
            self._config["dynamic_batching"] = {}

    def set_model_transaction_policy(self, transaction_policy_dict):
        if not isinstance(transaction_policy_dict, dict):
            raise ValueError("set_model_transaction_policy: expected a dict such as {'decoupled': True}")
        for key in transaction_policy_dict:
            if key != "decoupled":
                raise ValueError("set_model_transaction_policy: unknown key '%s'" % key)
        policy = self._config.setdefault("model_transaction_policy", {})
        policy.update(transaction_policy_dict)

    def add_input(self, input):
        self._add_tensor("input", input)

    def add_output(self, output):
        self._add_tensor("output", output)

    def _add_tensor(self, kind, tensor):
        if not isinstance(tensor, dict):
            raise ValueError("add_%s: expected a dict with 'name', 'data_type' and 'dims'" % kind)
        if "name" not in tensor:
            raise ValueError("add_%s: %s must have a 'name'" % (kind, kind))
        allowed = {"name", "data_type", "dims", "optional", "reshape", "is_shape_tensor"}
        for key in tensor:
            if key not in allowed:
                raise ValueError("add_%s: unexpected key '%s' in %s '%s'" % (kind, key, kind, tensor["name"]))
        if "data_type" in tensor and tensor["data_type"] not in TRITON_STRING_TO_NUMPY and tensor["data_type"] != "TYPE_BF16":
            raise ValueError("add_%s: unknown data_type '%s' for %s '%s'" % (kind, tensor["data_type"], kind, tensor["name"]))
        if "dims" in tensor:
            dims = tensor["dims"]
            if not isinstance(dims, (list, tuple)) or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
                raise ValueError("add_%s: 'dims' of %s '%s' must be a list of integers" % (kind, kind, tensor["name"]))
        for existing in self._config[kind]:
            if existing.get("name") != tensor["name"]:
                continue
            for key in ("data_type", "dims"):
                if key in tensor and key in existing and _normal(existing[key]) != _normal(tensor[key]):
                    raise ValueError(
                        "add_%s: the %s '%s' is already in the configuration with %s %s, "
                        "the auto-complete-config function gives %s"
                        % (kind, kind, tensor["name"], key, existing[key], tensor[key])
                    )
            for key, value in tensor.items():
                if key not in existing or existing[key] in ([], "TYPE_INVALID", None):
                    existing[key] = list(value) if key == "dims" else value
            return
        entry = dict(tensor)
        if "dims" in entry:
            entry["dims"] = list(entry["dims"])
        self._config[kind].append(entry)


def _normal(value):
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------------------------
# Logging (Triton's pb_utils.Logger): lines go to the stub's stderr, which the server forwards.


class LogLevel:
    INFO = 0
    WARNING = 1
    ERROR = 2
    VERBOSE = 3


class Logger:
    # As in Triton, the levels are Logger.LogLevel and also Logger's own attributes: Triton's qa models write
    # logger.log(message, logger.INFO). (The module-level LogLevel is ours, kept for models written against it.)
    LogLevel = LogLevel
    INFO = LogLevel.INFO
    WARNING = LogLevel.WARNING
    ERROR = LogLevel.ERROR
    VERBOSE = LogLevel.VERBOSE
    _names = {LogLevel.INFO: "I", LogLevel.WARNING: "W", LogLevel.ERROR: "E", LogLevel.VERBOSE: "V"}

    @staticmethod
    def log(message, level=LogLevel.INFO):
        sys.stderr.write("%s python: %s\n" % (Logger._names.get(level, "I"), message))
        sys.stderr.flush()

    @staticmethod
    def log_info(message):
        Logger.log(message, LogLevel.INFO)

    @staticmethod
    def log_warn(message):
        Logger.log(message, LogLevel.WARNING)

    @staticmethod
    def log_error(message):
        Logger.log(message, LogLevel.ERROR)

    @staticmethod
    def log_verbose(message):
        Logger.log(message, LogLevel.VERBOSE)


class MetricFamily:
    """A family of custom metrics exported on the server's metrics endpoint (Triton's custom metrics API).

    Families are identified by name: creating one again with the same kind shares it. It lives while some
    MetricFamily object names it; its metrics refuse every operation once it is gone.
    """

    COUNTER = 0
    GAUGE = 1
    HISTOGRAM = 2

    def __init__(self, name, description, kind):
        self._handle = None
        if kind not in (MetricFamily.COUNTER, MetricFamily.GAUGE, MetricFamily.HISTOGRAM):
            raise TritonModelException("MetricFamily kind must be COUNTER, GAUGE or HISTOGRAM, got %r" % (kind,))
        if not isinstance(name, str) or not isinstance(description, str):
            raise TritonModelException("MetricFamily name and description must be strings")
        self._kind = kind
        reply = _require_runtime("MetricFamily").metric_call(
            {"op": "create_family", "name": name, "description": description, "kind": kind}
        )
        self._handle = reply["handle"]

    def Metric(self, labels=None, buckets=None):
        """A metric of this family with these labels (a dict of strings); histograms need their bucket bounds."""
        return Metric(self, labels, buckets)

    def __del__(self):
        _release({"op": "delete_family", "handle": getattr(self, "_handle", None)})


class Metric:
    """One metric of a MetricFamily (one label set). Metrics of a family with the same labels share their value."""

    def __init__(self, family, labels=None, buckets=None):
        self._handle = None
        if not isinstance(family, MetricFamily):
            raise TritonModelException("Metric needs a MetricFamily")
        if labels is None:
            labels = {}
        if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
            raise TritonModelException("Metric labels must be a dict of strings")
        if buckets is not None:
            try:
                buckets = [float(bound) for bound in buckets]
            except (TypeError, ValueError):
                raise TritonModelException("Metric buckets must be a list of numbers")
        # Only the family's handle is kept: deleting the MetricFamily object must delete the family (Triton's rule).
        reply = _require_runtime("Metric").metric_call(
            {"op": "create_metric", "handle": family._handle, "labels": labels, "buckets": buckets}
        )
        self._handle = reply["handle"]

    def _operation(self, op, value=None):
        fields = {"op": op, "handle": self._handle}
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TritonModelException("Metric %s expects a number, got %r" % (op, value))
            fields["value"] = float(value)
        return _require_runtime("Metric").metric_call(fields)

    def increment(self, value):
        self._operation("increment", value)

    def set(self, value):
        self._operation("set", value)

    def observe(self, value):
        self._operation("observe", value)

    def value(self):
        return float(self._operation("value")["value"])

    def __del__(self):
        _release({"op": "delete_metric", "handle": getattr(self, "_handle", None)})


def _release(fields):
    """Tell the server an object is gone; quietly nothing when the stub is shutting down."""
    if fields.get("handle") is None or _runtime is None:
        return
    try:
        _runtime.metric_release(fields)
    except Exception:
        pass
