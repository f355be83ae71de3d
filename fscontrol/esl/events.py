"""ESL wire parser (byte stream -> envelope messages) and typed, frozen :class:`Event` objects.

Header values of ``text/event-plain`` bodies are URL-decoded exactly once, per line, after
the block is split into lines (an encoded ``%0A`` stays inside its header); an event's own
``Content-Length`` body (BACKGROUND_JOB, API results) is cut off by byte length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional
from urllib.parse import quote, unquote

__all__ = [
    "EslMessage",
    "EslParser",
    "Event",
    "parse_plain_event",
    "encode_plain_event",
    "CHANNEL_EVENTS_WITH_PEER",
]

CHANNEL_EVENTS_WITH_PEER = frozenset({"CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE"})


class EslMessage:
    """One envelope message: its (undecoded) envelope headers and its raw body bytes."""

    __slots__ = ("headers", "body")

    def __init__(self, headers: dict, body: bytes = b""):
        self.headers = headers
        self.body = body

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (api/response, disconnect notices)."""
        return self.body.decode("utf-8", "replace")

    def __repr__(self):  # pragma: no cover - debugging aid
        return f"EslMessage({self.headers!r}, {self.body[:60]!r})"


class EslParser:
    """Incremental ESL stream parser: ``feed(bytes)`` returns the messages completed so far.

    Splits at any byte boundary; the envelope is a ``Key: Value`` block ended by a blank
    line, followed by ``Content-Length`` bytes of body when that header is present.
    """

    __slots__ = ("_buf", "_pending", "_need")

    def __init__(self):
        self._buf = bytearray()
        self._pending: Optional[dict] = None  # envelope waiting for its body
        self._need = 0

    def feed(self, data: bytes) -> list:
        buf = self._buf
        buf += data
        out = []
        pos = 0
        size = len(buf)
        while True:
            if self._pending is None:
                end = buf.find(b"\n\n", pos)
                if end < 0:
                    break
                block = buf[pos:end].decode("utf-8", "replace")
                pos = end + 2
                if not block.strip("\n"):
                    continue  # tolerate stray blank lines between messages
                headers = {}
                for line in block.split("\n"):
                    key, sep, value = line.partition(": ")
                    if sep:
                        headers[key] = value
                    elif line.endswith(":"):
                        headers[line[:-1]] = ""
                length = headers.get("Content-Length")
                need = int(length) if length else 0
                if need <= 0:
                    out.append(EslMessage(headers, b""))
                    continue
                self._pending = headers
                self._need = need
            if size - pos < self._need:
                break
            end = pos + self._need
            out.append(EslMessage(self._pending, bytes(buf[pos:end])))
            pos = end
            self._pending = None
            self._need = 0
        if pos:
            del buf[:pos]
        return out

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete message."""
        return len(self._buf)


@dataclass(frozen=True, slots=True, eq=False)
class Event:
    """A decoded FreeSWITCH event. Values are URL-decoded; ``headers`` keeps every header.

    ``variables`` maps channel variable names *without* the ``variable_`` prefix.
    ``other_leg_uuid`` is ``Other-Leg-Unique-ID`` or, for CHANNEL_(UN)BRIDGE, the peer of
    ``uuid`` among ``Bridge-A/B-Unique-ID``.
    """

    name: str
    uuid: Optional[str] = None
    subclass: Optional[str] = None
    channel_name: Optional[str] = None
    state: Optional[str] = None
    call_state: Optional[str] = None
    answer_state: Optional[str] = None
    direction: Optional[str] = None
    caller_id_name: Optional[str] = None
    caller_id_number: Optional[str] = None
    destination_number: Optional[str] = None
    other_leg_uuid: Optional[str] = None
    hangup_cause: Optional[str] = None
    application: Optional[str] = None
    application_data: Optional[str] = None
    application_uuid: Optional[str] = None
    job_uuid: Optional[str] = None
    body: str = ""
    variables: Mapping[str, str] = field(default_factory=dict, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        """Dispatch key: the subclass for CUSTOM events, else the event name."""
        return self.subclass if self.name == "CUSTOM" and self.subclass else self.name

    def get(self, header: str, default=None):
        """A raw (decoded) header, e.g. ``event.get("Event-Sequence")``."""
        return self.headers.get(header, default)

    def var(self, name: str, default=None):
        """A channel variable, ``name`` without the ``variable_`` prefix."""
        return self.variables.get(name, default)

    @classmethod
    def from_headers(cls, headers: dict, variables: Optional[dict] = None, body: str = "") -> "Event":
        """Build an Event from already-decoded headers (variables derived if not given)."""
        if variables is None:
            variables = {k[9:]: v for k, v in headers.items() if k.startswith("variable_")}
        g = headers.get
        name = g("Event-Name", "")
        uuid = g("Unique-ID")
        other = g("Other-Leg-Unique-ID")
        if name in CHANNEL_EVENTS_WITH_PEER:
            a = g("Bridge-A-Unique-ID")
            b = g("Bridge-B-Unique-ID")
            if a and b:
                other = b if uuid == a else a
        return cls(
            name,
            uuid,
            g("Event-Subclass"),
            g("Channel-Name"),
            g("Channel-State"),
            g("Channel-Call-State"),
            g("Answer-State"),
            g("Call-Direction"),
            g("Caller-Caller-ID-Name"),
            g("Caller-Caller-ID-Number"),
            g("Caller-Destination-Number"),
            other,
            g("Hangup-Cause"),
            g("Application"),
            g("Application-Data"),
            g("Application-UUID"),
            g("Job-UUID"),
            body,
            variables,
            headers,
        )


def parse_plain_event(data: bytes) -> Event:
    """Parse the body of a ``text/event-plain`` message into an :class:`Event`.

    The block is split into lines first and each value is URL-decoded once afterwards, so an
    encoded newline (``%0A``) stays inside its value. If the event carries its own
    ``Content-Length``, that many bytes after the blank line are the event body.
    """
    end = data.find(b"\n\n")
    if end < 0:
        block = data
        rest = b""
    else:
        block = data[:end]
        rest = data[end + 2 :]
    headers, variables = _parse_lines(block.decode("utf-8", "replace"))
    body = ""
    length = headers.get("Content-Length")
    if length:
        body = rest[: int(length)].decode("utf-8", "replace")
    return Event.from_headers(headers, variables, body)


_UNQUOTED: dict = {}  # memo: header values repeat across events (names, dates, ids)
_UNQUOTED_MAX = 8192


def _unquote(value: str) -> str:
    got = _UNQUOTED.get(value)
    if got is None:
        got = unquote(value)
        if len(_UNQUOTED) >= _UNQUOTED_MAX:
            _UNQUOTED.clear()
        _UNQUOTED[value] = got
    return got


def _parse_lines(text: str):
    """Header lines -> (headers, variables). FreeSWITCH writes the ``variable_*`` block last,
    so only lines from the first one on are checked for the prefix (hot path)."""
    headers = {}
    variables = {}
    split = text.find("\nvariable_")
    head = text if split < 0 else text[:split]
    for line in head.split("\n"):
        key, sep, value = line.partition(": ")
        if sep:
            headers[key] = _unquote(value) if "%" in value else value
        elif line.endswith(":"):
            headers[line[:-1]] = ""
    if split >= 0:
        for line in text[split + 1 :].split("\n"):
            key, sep, value = line.partition(": ")
            if sep:
                if "%" in value:
                    value = _unquote(value)
                headers[key] = value
                if key.startswith("variable_"):
                    variables[key[9:]] = value
            elif line.endswith(":"):
                headers[line[:-1]] = ""
    return headers, variables


def encode_plain_event(headers: Mapping[str, str], body: Optional[str] = None) -> bytes:
    """Encode an event as FreeSWITCH sends it (``text/event-plain``, values URL-encoded).

    For test servers, the simulator and benchmarks: the exact inverse of the parser.
    """
    lines = []
    for key, value in headers.items():
        if key == "Content-Length":
            continue
        lines.append(f"{key}: {quote(str(value), safe='')}\n")
    inner = "".join(lines)
    if body is not None:
        raw_body = body.encode("utf-8")
        inner_bytes = (inner + f"Content-Length: {len(raw_body)}\n\n").encode("utf-8") + raw_body
    else:
        inner_bytes = (inner + "\n").encode("utf-8")
    return (
        f"Content-Length: {len(inner_bytes)}\nContent-Type: text/event-plain\n\n".encode("ascii")
        + inner_bytes
    )
