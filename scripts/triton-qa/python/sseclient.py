"""Stand-in for the PyPI-only `sseclient-py` package (not installable from Debian).

Reads Server-Sent Events from an iterable of byte chunks (a `requests` response),
with the two calls Triton's generate-endpoint tests use: `events()` and `_read()`.
"""


class Event:
    def __init__(self, data="", event="message", id=None, retry=None):
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def __repr__(self):
        return f"Event(event={self.event!r}, data={self.data!r})"


class SSEClient:
    def __init__(self, event_source, char_enc="utf-8"):
        self._event_source = event_source
        self._char_enc = char_enc

    def _read(self):
        """Yields raw events: byte strings that end with a blank line."""
        pending = b""
        for chunk in self._event_source:
            for line in chunk.splitlines(True):
                pending += line
                if pending.endswith((b"\r\r", b"\n\n", b"\r\n\r\n")):
                    yield pending
                    pending = b""
        if pending:
            yield pending

    def events(self):
        for raw in self._read():
            event = Event()
            data_lines = []
            for line in raw.decode(self._char_enc).splitlines():
                if not line or line.startswith(":"):
                    continue
                field, _, value = line.partition(":")
                if value.startswith(" "):
                    value = value[1:]
                if field == "data":
                    data_lines.append(value)
                elif field == "event":
                    event.event = value
                elif field == "id":
                    event.id = value
                elif field == "retry":
                    event.retry = int(value) if value.isdigit() else None
            if not data_lines:
                continue
            event.data = "\n".join(data_lines)
            yield event

    def close(self):
        close = getattr(self._event_source, "close", None)
        if close:
            close()
