"""Byte-exact encoding of the ESL messages FreeSWITCH 1.10 writes, and a reader for the commands it accepts.

Everything here was checked against tests/fs_traces/: envelope header order, URL-encoding of
plain-event values, and where Content-Length is counted.
"""
from __future__ import annotations

import json

# switch_url_encode(): these plus anything outside ' '..'~'. '/', ',', '(', ')' stay as they are.
_URL_UNSAFE = set("\r\n \"#%&+:;<=>?@[\\]^`{|}")

GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
SHUTDOWN_NOTICE = "The system is being shut down.\n"


def url_encode(value: str) -> str:
    out = []
    for b in str(value).encode("utf-8"):
        c = chr(b)
        if b < 32 or b > 126 or c in _URL_UNSAFE:
            out.append("%%%02X" % b)
        else:
            out.append(c)
    return "".join(out)


def _block(headers) -> str:
    return "".join("%s: %s\n" % (k, v) for k, v in headers)


def auth_request() -> bytes:
    return b"Content-Type: auth/request\n\n"


def command_reply(text: str, extra=()) -> bytes:
    return (_block([("Content-Type", "command/reply"), ("Reply-Text", text), *extra]) + "\n").encode()


def api_response(body: str) -> bytes:
    raw = body.encode("utf-8")
    head = _block([("Content-Type", "api/response"), ("Content-Length", len(raw))]) + "\n"
    return head.encode() + raw


def disconnect_notice(text: str = GOODBYE, extra=()) -> bytes:
    raw = text.encode("utf-8")
    head = _block([("Content-Type", "text/disconnect-notice"), *extra, ("Content-Length", len(raw))]) + "\n"
    return head.encode() + raw


def event_plain_body(headers, body: str | None) -> bytes:
    text = "".join("%s: %s\n" % (k, url_encode(v)) for k, v in headers)
    if body:
        raw = body.encode("utf-8")
        return (text + "Content-Length: %d\n\n" % len(raw)).encode() + raw
    return (text + "\n").encode()


def event_plain(headers, body: str | None = None) -> bytes:
    # The envelope puts Content-Length before Content-Type for events, unlike api/response.
    payload = event_plain_body(headers, body)
    return ("Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(payload)).encode() + payload


def event_json(headers, body: str | None = None) -> bytes:
    obj = {}
    for k, v in headers:
        obj.setdefault(k, v)
    if body:
        obj["Content-Length"] = str(len(body.encode("utf-8")))
        obj["_body"] = body
    payload = json.dumps(obj).encode()
    return ("Content-Length: %d\nContent-Type: text/event-json\n\n" % len(payload)).encode() + payload


class CommandReader:
    """Incremental parser of client commands: a first line, header lines, a blank line, and an
    optional Content-Length body (sendevent/sendmsg). Accepts LF or CRLF, any chunking."""

    def __init__(self):
        self._buf = b""

    def feed(self, data: bytes):
        self._buf += data
        out = []
        while True:
            cmd = self._take()
            if cmd is None:
                return out
            out.append(cmd)

    def _take(self):
        buf = self._buf.replace(b"\r\n", b"\n") if b"\r" in self._buf else self._buf
        self._buf = buf
        # blank lines before a command are ignored, as FreeSWITCH does
        stripped = buf.lstrip(b"\n")
        end = stripped.find(b"\n\n")
        if end < 0:
            self._buf = stripped
            return None
        head = stripped[:end].decode("utf-8", "replace")
        rest = stripped[end + 2:]
        lines = head.split("\n")
        headers = []
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if sep:
                headers.append((k.strip(), v.strip()))
        body = ""
        clen = next((v for k, v in headers if k.lower() == "content-length"), None)
        if clen is not None:
            n = int(clen)
            if len(rest) < n:
                return None
            body, rest = rest[:n].decode("utf-8", "replace"), rest[n:]
        self._buf = rest
        return lines[0].strip(), headers, body
