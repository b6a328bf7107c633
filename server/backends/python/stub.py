"""Python backend stub: one process per model instance, started by the inference server.

File descriptors set up by the server (server/backends/python/stub-process.ts):
  3  control channel, both directions: messages framed as a 4-byte little-endian length + UTF-8 JSON
  4  input tensor file in /dev/shm: the server writes request tensors, the stub maps it (numpy views, no copy)
  5  output tensor file in /dev/shm: the stub grows it and writes response tensors, the server reads them
stdout/stderr carry the model's own prints and logs; the server forwards them.

The main thread serves one message at a time: initialize (load model.py, TritonPythonModel.initialize), execute (a
list of requests -> TritonPythonModel.execute -> responses), finalize; or auto_complete (auto_complete_config, then
exit). A reader thread (stub_channel.py) takes the messages that may arrive meanwhile: BLS results, region releases.
`async def execute` runs on one asyncio event loop kept for the stub's lifetime.
"""

import asyncio
import importlib.util
import inspect
import mmap
import os
import signal
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from stub_channel import INPUT_FD, Channel, OutputArena, send_message  # noqa: E402

STUB_FILE = os.path.abspath(__file__)
STUB_DIR = os.path.dirname(STUB_FILE)
STUB_FILES = {STUB_FILE, os.path.join(STUB_DIR, "stub_channel.py"), os.path.join(STUB_DIR, "stub_runtime.py")}


def _die_with_parent():
    """Ask Linux to kill this process when the server dies, so no stub outlives it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # The server may have died before prctl took effect: then this process was re-parented. Compare with the
        # server's own pid (it is pid 1 itself when it runs as a container's entry point).
        server_pid = os.environ.get("INFERENCE_SERVER_PID")
        if server_pid is not None and os.getppid() != int(server_pid):
            os._exit(0)
    except Exception:
        pass


def missing_module_hint(error):
    """For a model whose import fails: which interpreter ran it and how to choose another (several may be installed)."""
    if not isinstance(error, ImportError):
        return ""
    return (" (Python interpreter '%s', Python %s: install the module there, or choose another interpreter with"
            " --backend-config=python,execution-env-path=<python3 or a venv/conda-pack folder>,"
            " or per model the EXECUTION_ENV_PATH parameter)" % (sys.executable, sys.version.split()[0]))


def describe_exception(error, hint=""):
    """Type: message, then the frames of the model's code innermost first, as Triton's stub prints them."""
    lines = ["%s: %s%s" % (type(error).__name__, error, hint)]
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if os.path.abspath(frame.filename) not in STUB_FILES and not frame.filename.startswith("<frozen")
        and os.sep + "asyncio" + os.sep not in frame.filename
    ]
    if frames:
        lines.append("")
        lines.append("At:")
        for frame in reversed(frames):
            lines.append("  %s(%d): %s" % (frame.filename, frame.lineno, frame.name))
    return "\n".join(lines) + "\n"


class Stub:
    def __init__(self):
        self.model = None
        self.pb_utils = None
        self.np = None
        self.instance_name = ""
        self.input_map = None
        self.input_lock = threading.Lock()
        self.arena = OutputArena(None)
        self.channel = Channel(self.arena, self.copy_tensors)
        self.loop = None
        self.decoupled = False
        self.result_region = None

    # -- loading -----------------------------------------------------------------------------------------------

    def import_utils(self):
        stub_dir = os.path.dirname(STUB_FILE)
        if stub_dir not in sys.path:
            sys.path.insert(0, stub_dir)
        import numpy  # noqa: F401 (a clear message below when it is missing)
        import triton_python_backend_utils

        from stub_runtime import Runtime

        self.np = numpy
        self.pb_utils = triton_python_backend_utils
        self.arena.np = numpy
        triton_python_backend_utils._runtime = Runtime(self.channel, self.arena, triton_python_backend_utils, numpy)

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
            self.decoupled = bool(message.get("decoupled"))
            model = model_class()
            if hasattr(model, "initialize"):
                model.initialize(dict(message["args"]))
            if not hasattr(model, "execute"):
                raise AttributeError("TritonPythonModel in '%s' has no execute method" % message["model_file"])
            self.model = model
        except BaseException as error:  # SystemExit included: report it rather than vanish
            send_message({"type": "error", "message": describe_exception(error, missing_module_hint(error))})
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
        with self.input_lock:
            if size == 0:
                return self.input_map
            if self.input_map is None or len(self.input_map) < size:
                # Views of an older, smaller map stay valid until the model drops them.
                self.input_map = mmap.mmap(INPUT_FD, os.fstat(INPUT_FD).st_size)
            return self.input_map

    def copy_tensors(self, specs):
        """Tensors the server sent for a BLS call, copied out (the region is reused once released)."""
        end = max([spec["offset"] + spec["size"] for spec in specs] + [0])
        input_map = self.map_inputs(end)
        tensors = []
        for spec in specs:
            tensor = self.build_tensor(spec, input_map)
            array = tensor.as_numpy()
            tensors.append(self.pb_utils.Tensor._from_server(spec["name"], spec["datatype"], array.copy()))
        return tensors

    # -- execute -----------------------------------------------------------------------------------------------

    def build_tensor(self, spec, input_map):
        np = self.np
        pb_utils = self.pb_utils
        name = spec["name"]
        datatype = spec["datatype"]
        shape = tuple(spec["shape"])
        offset = spec["offset"]
        size = spec["size"]
        if datatype == "BYTES":
            data = memoryview(input_map)[offset : offset + size] if size > 0 else b""
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
                array = np.frombuffer(input_map, dtype=numpy_type, count=count, offset=offset).reshape(shape)
        return pb_utils.Tensor._from_server(name, datatype, array)

    def build_requests(self, message):
        input_map = self.map_inputs(message.get("in_size", 0))
        requests = []
        for index, spec in enumerate(message["requests"]):
            inputs = [self.build_tensor(tensor, input_map) for tensor in spec["inputs"]]
            request = self.pb_utils.InferenceRequest(
                inputs=inputs,
                requested_output_names=spec.get("requested_output_names", []),
                request_id=spec.get("request_id", ""),
                correlation_id=spec.get("correlation_id", 0),
                flags=spec.get("flags", 0),
                parameters=spec.get("parameters", {}),
            )
            request._cancelled = bool(spec.get("cancelled", False))
            if self.decoupled:
                request._response_sender = self.pb_utils.InferenceResponseSender(
                    message["id"], index, spec.get("requested_output_names", []), request
                )
            self.channel.track_request(message["id"], index, request, self.decoupled)
            requests.append(request)
        return requests

    def write_outputs(self, responses, requests):
        """Lay every output tensor out in one region of the output file; returns the per-response descriptions."""
        runtime = self.pb_utils._runtime
        groups = []
        for response, request in zip(responses, requests):
            if not response.has_error():
                groups.append(runtime.plan(response.output_tensors(), set(request.requested_output_names())))
        region, laid_out = self.arena.write(groups)
        self.result_region = region
        described = []
        for response in responses:
            if response.has_error():
                error = response.error()
                described.append({"error": {"message": str(error.message()), "code": int(error.code())}})
            else:
                described.append({"outputs": laid_out.pop(0)})
        return described

    def run_execute(self, requests):
        """TritonPythonModel.execute, on the stub's event loop when it is `async def`."""
        result = self.model.execute(requests)
        if inspect.isawaitable(result):
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
                asyncio.set_event_loop(self.loop)
            result = self.loop.run_until_complete(result)
        return result

    def batch_error(self, text):
        return "Failed to process the request(s) for model instance '%s', message: %s" % (self.instance_name, text)

    def handle_execute(self, message):
        started = time.perf_counter_ns()
        if self.result_region is not None:
            # The server read the previous result before it sent this execute.
            self.arena.release(self.result_region)
            self.result_region = None
        try:
            requests = self.build_requests(message)
        except BaseException as error:
            self.untrack_requests(message)
            send_message({"type": "result", "id": message["id"], "error": self.batch_error(describe_exception(error))})
            return
        if not self.decoupled:
            # A decoupled request stays cancellable until its final flag (InferenceResponseSender.send).
            try:
                self.serve_execute(message, requests, started)
            finally:
                self.untrack_requests(message)
            return
        self.serve_execute(message, requests, started)

    def untrack_requests(self, message):
        for index in range(len(message["requests"])):
            self.channel.untrack_request(message["id"], index)

    def serve_execute(self, message, requests, started):
        inputs_done = time.perf_counter_ns()
        try:
            responses = self.run_execute(requests)
        except BaseException as error:
            self.untrack_requests(message)
            text = self.batch_error(describe_exception(error))
            if self.decoupled and requests and all(request._response_sender._closed for request in requests):
                # Every request has had its final flag: no client can be told (e.g. a send after the final one
                # raised). Triton's python backend logs it; the requests stay as they ended.
                sys.stderr.write("E python: %s\n" % text)
                sys.stderr.flush()
                self.finish_decoupled(message, None, started, inputs_done, time.perf_counter_ns())
                return
            send_message({"type": "result", "id": message["id"], "error": text})
            return
        infer_done = time.perf_counter_ns()
        if self.decoupled:
            self.finish_decoupled(message, responses, started, inputs_done, infer_done)
            return
        try:
            if not isinstance(responses, (list, tuple)):
                if responses is None:
                    raise self.pb_utils.TritonModelException(
                        "execute returned None: only decoupled models (model_transaction_policy { decoupled: true }) "
                        "send their responses through the response sender; return a list of pb_utils.InferenceResponse"
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

    def finish_decoupled(self, message, returned, started, inputs_done, infer_done):
        """A decoupled execute returns None; its responses travel (or will travel) through the response senders."""
        if returned is not None:
            self.untrack_requests(message)
            # Triton's words (its qa looks for them); the responses go through the response senders.
            error = self.batch_error(
                "Python model '%s' is using the decoupled mode and the execute function must return None."
                % self.instance_name
            )
            send_message({"type": "result", "id": message["id"], "error": error})
            return
        send_message(
            {
                "type": "result",
                "id": message["id"],
                "responses": [{"outputs": []} for _ in message["requests"]],
                "input_ns": inputs_done - started,
                "infer_ns": infer_done - inputs_done,
                "output_ns": 0,
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
        self.channel.start()
        while True:
            message = self.channel.inbox.get()
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
