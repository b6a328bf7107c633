"""The stub's side of the control channel once messages can flow both ways at any time.

Business Logic Scripting (a model calling other models) and decoupled models (responses sent whenever the model
likes, from any thread) need more than one request at a time on fd 3, so:
  - a reader thread reads every message: replies to the stub's own requests (BLS results, releases of its regions)
    are handed to whoever waits for them; everything else (execute, finalize) goes to the main thread's queue;
  - sends are serialised by a lock, so threads never interleave frames;
  - tensors the stub sends (responses, BLS inputs) go into the output file through OutputArena: each message owns a
    region until the server reads it and answers {"type": "release", "region": n}, so several messages can be in
    flight; the regions are packed from the start again whenever none is in flight.
Tensors the server sends back for BLS (bls_response) are in the input file after the current execute's inputs; the
reader copies them out at once and tells the server with {"type": "release_input", "region": n}.
A request whose client went away gets {"type": "cancel", "id": execute id, "index": n}: the reader marks the request
(request.is_cancelled() and its response sender's turn true, as in Triton's python backend); the model decides what
to do about it.
"""

import json
import mmap
import os
import queue
import struct
import threading
import weakref

CONTROL_FD = 3
INPUT_FD = 4
OUTPUT_FD = 5
ALIGNMENT = 64
OUTPUT_GROWTH = 1 << 20


def align(value):
    return (value + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _read_exact(fd, count):
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
    header = _read_exact(CONTROL_FD, 4)
    if header is None:
        return None
    (length,) = struct.unpack("<I", header)
    body = _read_exact(CONTROL_FD, length)
    if body is None:
        return None
    return json.loads(body.decode("utf-8"))


_send_lock = threading.Lock()


def send_message(message):
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    data = memoryview(struct.pack("<I", len(body)) + body)
    with _send_lock:
        while len(data) > 0:
            written = os.write(CONTROL_FD, data)
            data = data[written:]


class OutputArena:
    """Regions of the output file, each held by one message until the server has read it."""

    def __init__(self, np):
        self.np = np
        self.lock = threading.Lock()
        self.live = set()
        self.end = 0
        self.next_region = 1
        self.map = None
        self.size = 0

    def _ensure(self, size):
        if size <= self.size and self.map is not None:
            return
        new_size = (max(size, self.size, 1) + OUTPUT_GROWTH - 1) // OUTPUT_GROWTH * OUTPUT_GROWTH
        if os.fstat(OUTPUT_FD).st_size < new_size:
            os.ftruncate(OUTPUT_FD, new_size)
        self.map = mmap.mmap(OUTPUT_FD, new_size)
        self.size = new_size

    def write(self, groups):
        """groups: lists of (name, datatype, shape, data, size) -> (region, [[{name, datatype, shape, offset, size}]])."""
        np = self.np
        with self.lock:
            if not self.live:
                self.end = 0
            offset = align(self.end)
            planned = []
            for group in groups:
                items = []
                for name, datatype, shape, data, size in group:
                    offset = align(offset)
                    items.append((name, datatype, shape, data, size, offset))
                    offset += size
                planned.append(items)
            self._ensure(max(offset, 1))
            described = []
            for items in planned:
                out = []
                for name, datatype, shape, data, size, start in items:
                    if size > 0:
                        target = np.frombuffer(self.map, dtype=np.uint8, count=size, offset=start)
                        if datatype == "BYTES":
                            target[:] = np.frombuffer(data, dtype=np.uint8)
                        else:
                            target[:] = data.reshape(-1).view(np.uint8)
                    out.append({"name": name, "datatype": datatype, "shape": shape, "offset": start, "size": size})
                described.append(out)
            region = self.next_region
            self.next_region += 1
            self.live.add(region)
            self.end = offset
            return region, described

    def release(self, region):
        with self.lock:
            self.live.discard(region)


class Channel:
    """Reader thread + routing. `inbox` receives the messages the main thread serves (execute, finalize, ...)."""

    def __init__(self, arena, copy_input):
        self.arena = arena
        self.copy_input = copy_input  # (wire tensors) -> list of pb_utils.Tensor, copied out of the input file
        self.inbox = queue.Queue()
        self.lock = threading.Lock()
        self.calls = {}  # BLS call id -> callback(message, tensors or None)
        self.next_call = 1
        # (execute id, index) -> pb_utils.InferenceRequest still running, for cancel messages: until its execute
        # returns, or for a decoupled request until its final flag. Decoupled ones are held weakly: a model that drops
        # a request without its final flag must not leave it (inputs included) here for the stub's life, and a request
        # nobody holds cannot see a cancel anyway. (The others stay in a plain dict: a weak entry costs ~0.4 us more.)
        self.requests = {}
        self.streaming = weakref.WeakValueDictionary()
        self.cancelled_early = set()  # cancels that came before the main thread built their request
        self.closed = False
        self.thread = threading.Thread(target=self._read, name="stub-channel", daemon=True)

    def start(self):
        self.thread.start()

    def register(self, callback):
        with self.lock:
            call_id = self.next_call
            self.next_call += 1
            self.calls[call_id] = callback
            return call_id

    def forget(self, call_id):
        with self.lock:
            self.calls.pop(call_id, None)

    def track_request(self, execute_id, index, request, decoupled=False):
        """A request a cancel message may name until untrack_request (a decoupled one: until its final flag)."""
        with self.lock:
            if self.cancelled_early:  # almost always empty: no per-request copy then
                # Executes are built in id order: a cancel kept for an earlier id named a request already finished.
                self.cancelled_early = {key for key in self.cancelled_early if key[0] >= execute_id}
                if (execute_id, index) in self.cancelled_early:
                    self.cancelled_early.discard((execute_id, index))
                    request._cancelled = True
            (self.streaming if decoupled else self.requests)[(execute_id, index)] = request

    def untrack_request(self, execute_id, index):
        with self.lock:
            if self.requests.pop((execute_id, index), None) is None:
                self.streaming.pop((execute_id, index), None)

    def _cancel(self, message):
        key = (message.get("id"), message.get("index"))
        with self.lock:
            request = self.requests.get(key)
            if request is None:
                request = self.streaming.get(key)
            if request is None:
                self.cancelled_early.add(key)
            else:
                request._cancelled = True

    def _read(self):
        while True:
            message = read_message()
            if message is None:
                self._close()
                self.inbox.put(None)
                return
            kind = message.get("type")
            if kind == "release":
                self.arena.release(message.get("region"))
            elif kind in ("bls_response", "metric_response"):
                self._deliver(message)
            elif kind == "cancel":
                self._cancel(message)
            else:
                self.inbox.put(message)

    def _deliver(self, message):
        tensors = None
        error = None
        try:
            if "outputs" in message:
                tensors = self.copy_input(message["outputs"])
        except BaseException as caught:  # a malformed reply fails only that call
            error = caught
        finally:
            if "region" in message:
                send_message({"type": "release_input", "region": message["region"]})
        with self.lock:
            callback = self.calls.get(message.get("id"))
            if callback is not None and message.get("final", True):
                self.calls.pop(message.get("id"), None)
        if callback is not None:
            callback(message, tensors, error)

    def _close(self):
        with self.lock:
            self.closed = True
            calls = list(self.calls.values())
            self.calls.clear()
        for callback in calls:
            callback({"final": True, "error": {"message": "the server closed the stub's channel", "code": 1}}, None, None)
