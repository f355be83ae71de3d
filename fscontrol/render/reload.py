"""`reloadxml` and friends over the event socket, for deploy: one short connection per command,
every read and write bounded by a timeout so an unreachable or stuck switch cannot hang deploy.

A reloader is any callable `reloader(command) -> reply text`; it raises `ReloadUnavailable` when
the switch cannot be asked (down, refused, timed out, wrong password)."""

from __future__ import annotations

import socket
from collections import deque

from ..config.model import SwitchConfig
from ..esl.events import EslParser

DEFAULT_TIMEOUT = 5.0


class ReloadUnavailable(Exception):
    """The switch could not be asked (connection refused, timeout, authentication failed)."""


class EslReloader:
    def __init__(self, host: str, port: int, password: str, timeout: float = DEFAULT_TIMEOUT):
        self.host, self.port, self.password, self.timeout = host, port, password, timeout

    @classmethod
    def for_switch(cls, switch: SwitchConfig, timeout: float = DEFAULT_TIMEOUT) -> "EslReloader":
        return cls(switch.esl_host, switch.esl_port, switch.esl_password.reveal(), timeout)

    def __call__(self, command: str) -> str:
        if any(c in command for c in "\r\n"):
            raise ValueError("a command is one line")
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.settimeout(self.timeout)
                reader = _Reader(sock)
                headers, _ = reader.message()
                if headers.get("Content-Type") != "auth/request":
                    raise ReloadUnavailable(f"{self.host}:{self.port} is not a FreeSWITCH event socket")
                sock.sendall(f"auth {self.password}\n\n".encode())
                headers, _ = reader.until("command/reply")
                if not headers.get("Reply-Text", "").startswith("+OK"):
                    raise ReloadUnavailable(f"ESL authentication failed at {self.host}:{self.port}")
                sock.sendall(f"api {command}\n\n".encode())
                _, body = reader.until("api/response")
                try:
                    sock.sendall(b"exit\n\n")
                except OSError:
                    pass
                return body.decode("utf-8", "replace")
        except ReloadUnavailable:
            raise
        except (OSError, EOFError) as e:  # refused, reset, timeout (socket.timeout is an OSError)
            reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e) or type(e).__name__)
            raise ReloadUnavailable(f"switch at {self.host}:{self.port} not reachable: {reason}") from None


class _Reader:
    """Whole ESL messages from a blocking socket, parsed by the client's own EslParser."""

    def __init__(self, sock: socket.socket):
        self.sock, self.parser, self.ready = sock, EslParser(), deque()

    def message(self) -> tuple[dict[str, str], bytes]:
        while not self.ready:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.ready.extend(self.parser.feed(chunk))
        m = self.ready.popleft()
        return m.headers, m.body

    def until(self, content_type: str) -> tuple[dict[str, str], bytes]:
        while True:
            headers, body = self.message()
            if headers.get("Content-Type") == content_type:
                return headers, body
            if headers.get("Content-Type") == "text/disconnect-notice":
                raise EOFError("disconnected")
