"""Python backend stub: one process per model instance, started by the inference server.

File descriptors set up by the server (server/backends/python/stub-process.ts):
  3  control channel, both directions: messages framed as a 4-byte little-endian length + UTF-8 JSON
  4  input tensor file in /dev/shm: the server writes request tensors, the stub maps it (numpy views, no copy)
  5  output tensor file in /dev/shm: the stub grows it and writes response tensors, the server reads them
stdout/stderr carry the model's own prints and logs; the server forwards them.

The stub serves one message at a time: initialize (load model.py, TritonPythonModel.initialize), execute (a list of
requests -> TritonPythonModel.execute -> responses), finalize; or auto_complete (auto_complete_config, then exit).
"""

import importlib.util
import json
import mmap
import os
import signal
import struct
import sys
import time
import traceback

CONTROL_FD = 3
INPUT_FD = 4
OUTPUT_FD = 5
ALIGNMENT = 64
OUTPUT_GROWTH = 1 << 20
STUB_FILE = os.path.abspath(__file__)


def _die_with_parent():
    """Ask Linux to kill this process when the server dies, so no stub outlives it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:
            os._exit(0)
    except Exception:
        pass


def read_exact(fd, count):
    chunks = []
    remaining = count
    while remaining > 0:
        chunk = os.read(fd, remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message():
    header = read_exact(CONTROL_FD, 4)
    if header is None:
        return None
    (length,) = struct.unpack("<I", header)
    body = read_exact(CONTROL_FD, length)
    if body is None:
        return None
    return json.loads(body.decode("utf-8"))


def send_message(message):
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    data = memoryview(struct.pack("<I", len(body)) + body)
    while len(data) > 0:
        written = os.write(CONTROL_FD, data)
        data = data[written:]


def describe_exception(error):
    """Type: message, then the frames of the model's code innermost first, as Triton's stub prints them."""
    lines = ["%s: %s" % (type(error).__name__, error)]
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if os.path.abspath(frame.filename) != STUB_FILE and not frame.filename.startswith("<frozen")
    ]
    if frames:
        lines.append("")
        lines.append("At:")
        for frame in reversed(frames):
            lines.append("  %s(%d): %s" % (frame.filename, frame.lineno, frame.name))
    return "\n".join(lines) + "\n"


def align(value):
    return (value + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


class Stub:
    def __init__(self):
        self.model = None
        self.pb_utils = None
        self.np = None
        self.instance_name = ""
        self.input_map = None
        self.output_map = None
        self.output_size = 0

    # -- loading -----------------------------------------------------------------------------------------------

    def import_utils(self):
        stub_dir = os.path.dirname(STUB_FILE)
        if stub_dir not in sys.path:
            sys.path.insert(0, stub_dir)
        import numpy  # noqa: F401 (a clear message below when it is missing)
        import triton_python_backend_utils

        self.np = numpy
        self.pb_utils = triton_python_backend_utils

    def load_module(self, model_file, version_dir):
        if version_dir and version_dir not in sys.path:
            sys.path.insert(0, version_dir)
        if not os.path.isfile(model_file):
            raise FileNotFoundError("model file '%s' does not exist" % model_file)
        spec = importlib.util.spec_from_file_location("model", model_file)
        module = importlib.util.module_from_spec(spec)
        sys.modules["model"] = module
        spec.loader.exec_module(module)
        model_class = getattr(module, "TritonPythonModel", None)
        if model_class is None:
            raise AttributeError("'%s' does not define class 'TritonPythonModel'" % model_file)
        return model_class

    def handle_initialize(self, message):
        self.instance_name = message.get("instance_name", "")
        try:
            self.import_utils()
        except ImportError as error:
            send_message({"type": "error", "message": "the Python backend needs numpy in the interpreter '%s': %s"
                          % (sys.executable, error)})
            return False
        try:
            model_class = self.load_module(message["model_file"], message.get("version_dir"))
            model = model_class()
            if hasattr(model, "initialize"):
                model.initialize(dict(message["args"]))
            if not hasattr(model, "execute"):
                raise AttributeError("TritonPythonModel in '%s' has no execute method" % message["model_file"])
            self.model = model
        except BaseException as error:  # SystemExit included: report it rather than vanish
            send_message({"type": "error", "message": describe_exception(error)})
            return False
        send_message({"type": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})
        return True

    def handle_auto_complete(self, message):
        try:
            self.import_utils()
            model_class = self.load_module(message["model_file"], message.get("version_dir"))
            config = self.pb_utils.ModelConfig(message["config"])
            hook = getattr(model_class, "auto_complete_config", None)
            if hook is not None:
                result = hook(config)
                if result is not None:
                    if not isinstance(result, self.pb_utils.ModelConfig):
                        raise TypeError("auto_complete_config must return the pb_utils.ModelConfig it was given")
                    config = result
            send_message({"type": "auto_complete_result", "config": config.as_dict()})
        except BaseException as error:
            send_message({"type": "error", "message": describe_exception(error)})

    # -- shared memory -----------------------------------------------------------------------------------------

    def map_inputs(self, size):
        if size == 0:
            return
        if self.input_map is None or len(self.input_map) < size:
            # Views of an older, smaller map stay valid until the model drops them.
            self.input_map = mmap.mmap(INPUT_FD, os.fstat(INPUT_FD).st_size)

    def ensure_output_capacity(self, size):
        if size <= self.output_size and self.output_map is not None:
            return
        new_size = max(size, self.output_size)
        new_size = (new_size + OUTPUT_GROWTH - 1) // OUTPUT_GROWTH * OUTPUT_GROWTH
        if os.fstat(OUTPUT_FD).st_size < new_size:
            os.ftruncate(OUTPUT_FD, new_size)
        self.output_map = mmap.mmap(OUTPUT_FD, new_size)
        self.output_size = new_size

    # -- execute -----------------------------------------------------------------------------------------------

    def build_tensor(self, spec):
        np = self.np
        pb_utils = self.pb_utils
        name = spec["name"]
        datatype = spec["datatype"]
        shape = tuple(spec["shape"])
        offset = spec["offset"]
        size = spec["size"]
        if datatype == "BYTES":
            data = memoryview(self.input_map)[offset : offset + size] if size > 0 else b""
            array = pb_utils.deserialize_bytes_tensor(data).reshape(shape)
        else:
            numpy_type = pb_utils.triton_to_numpy_type(pb_utils.KSERVE_TO_ENUM[datatype])
            if numpy_type is None:
                raise pb_utils.TritonModelException("datatype %s is not supported by the Python backend" % datatype)
            count = 1
            for dim in shape:
                count *= dim
            if count == 0:
                array = np.empty(shape, dtype=numpy_type)
            else:
                array = np.frombuffer(self.input_map, dtype=numpy_type, count=count, offset=offset).reshape(shape)
        return pb_utils.Tensor._from_server(name, datatype, array)

    def build_requests(self, message):
        requests = []
        for spec in message["requests"]:
            inputs = [self.build_tensor(tensor) for tensor in spec["inputs"]]
            request = self.pb_utils.InferenceRequest(
                inputs=inputs,
                requested_output_names=spec.get("requested_output_names", []),
                request_id=spec.get("request_id", ""),
                correlation_id=spec.get("correlation_id", 0),
                flags=spec.get("flags", 0),
                parameters=spec.get("parameters", {}),
            )
            requests.append(request)
        return requests

    def write_outputs(self, responses, requests):
        """Lay every output tensor out in the output file; returns the per-response descriptions."""
        np = self.np
        pb_utils = self.pb_utils
        plans = []
        total = 0
        for response, request in zip(responses, requests):
            if response.has_error():
                error = response.error()
                plans.append({"error": {"message": str(error.message()), "code": int(error.code())}})
                continue
            wanted = set(request.requested_output_names())
            outputs = []
            for tensor in response.output_tensors():
                if wanted and tensor.name() not in wanted:
                    continue
                array = tensor.as_numpy()
                datatype = pb_utils.ENUM_TO_KSERVE.get(tensor.triton_dtype())
                if datatype is None:
                    raise pb_utils.TritonModelException(
                        "output '%s' has a data type the server cannot return" % tensor.name()
                    )
                if datatype == "BYTES":
                    data = pb_utils._serialize_bytes(array)
                else:
                    data = np.ascontiguousarray(array)
                size = len(data) if datatype == "BYTES" else data.nbytes
                offset = align(total)
                total = offset + size
                outputs.append((tensor.name(), datatype, list(array.shape), offset, size, data))
            plans.append(outputs)
        self.ensure_output_capacity(max(total, 1))
        described = []
        for plan in plans:
            if isinstance(plan, dict):
                described.append(plan)
                continue
            outputs = []
            for name, datatype, shape, offset, size, data in plan:
                if size > 0:
                    target = np.frombuffer(self.output_map, dtype=np.uint8, count=size, offset=offset)
                    if datatype == "BYTES":
                        target[:] = np.frombuffer(data, dtype=np.uint8)
                    else:
                        target[:] = data.reshape(-1).view(np.uint8)
                outputs.append({"name": name, "datatype": datatype, "shape": shape, "offset": offset, "size": size})
            described.append({"outputs": outputs})
        return described

    def batch_error(self, text):
        return "Failed to process the request(s) for model instance '%s', message: %s" % (self.instance_name, text)

    def handle_execute(self, message):
        started = time.perf_counter_ns()
        try:
            self.map_inputs(message.get("in_size", 0))
            requests = self.build_requests(message)
        except BaseException as error:
            send_message({"type": "result", "id": message["id"], "error": self.batch_error(describe_exception(error))})
            return
        inputs_done = time.perf_counter_ns()
        try:
            responses = self.model.execute(requests)
        except BaseException as error:
            send_message({"type": "result", "id": message["id"], "error": self.batch_error(describe_exception(error))})
            return
        infer_done = time.perf_counter_ns()
        try:
            if not isinstance(responses, (list, tuple)):
                if responses is None:
                    raise self.pb_utils.TritonModelException(
                        "execute returned None: decoupled models are not supported by this server, "
                        "return a list of pb_utils.InferenceResponse"
                    )
                raise self.pb_utils.TritonModelException("Expected a list in the execute return")
            if len(responses) != len(requests):
                raise self.pb_utils.TritonModelException(
                    "Number of InferenceResponse objects do not match the number of InferenceRequest objects. "
                    "InferenceRequest(s) size is:%d, and InferenceResponse(s) size is:%d"
                    % (len(requests), len(responses))
                )
            for response in responses:
                if not isinstance(response, self.pb_utils.InferenceResponse):
                    raise self.pb_utils.TritonModelException(
                        "execute must return pb_utils.InferenceResponse objects, got %s" % type(response).__name__
                    )
            described = self.write_outputs(responses, requests)
        except BaseException as error:
            send_message({"type": "result", "id": message["id"], "error": self.batch_error(describe_exception(error))})
            return
        done = time.perf_counter_ns()
        send_message(
            {
                "type": "result",
                "id": message["id"],
                "responses": described,
                "input_ns": inputs_done - started,
                "infer_ns": infer_done - inputs_done,
                "output_ns": done - infer_done,
            }
        )

    def handle_finalize(self):
        error = None
        if self.model is not None and hasattr(self.model, "finalize"):
            try:
                self.model.finalize()
            except BaseException as caught:
                error = describe_exception(caught)
        send_message({"type": "finalized", "error": error})

    # -- loop --------------------------------------------------------------------------------------------------

    def run(self):
        while True:
            message = read_message()
            if message is None:
                return  # the server closed the channel
            kind = message.get("type")
            if kind == "initialize":
                if not self.handle_initialize(message):
                    return
            elif kind == "execute":
                self.handle_execute(message)
            elif kind == "finalize":
                self.handle_finalize()
                return
            elif kind == "auto_complete":
                self.handle_auto_complete(message)
                return
            else:
                send_message({"type": "error", "message": "unknown message type '%s'" % kind})


def main():
    _die_with_parent()
    # Ctrl-C in the server's terminal reaches the whole process group: the server decides when stubs stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.dont_write_bytecode = True
    Stub().run()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
