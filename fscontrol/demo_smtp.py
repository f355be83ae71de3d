"""A tiny SMTP receiver for `make demo` only (gevent, in-process): accepts every message on
127.0.0.1 and keeps it, so the demo can show a voicemail email arriving without a mail server.
Not for production and not used by the tests (they run a real server, aiosmtpd)."""

from __future__ import annotations

import email
from email import policy

from gevent.server import StreamServer


class DemoMailbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.server = StreamServer(("127.0.0.1", 0), self._session)

    @property
    def port(self) -> int:
        return self.server.server_port

    def start(self) -> "DemoMailbox":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def _session(self, sock, _address) -> None:
        f = sock.makefile("rwb")

        def reply(line: str) -> None:
            f.write(line.encode() + b"\r\n")
            f.flush()
        reply("220 demo ESMTP")
        while True:
            line = f.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                reply("250 demo")
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                reply("250 OK")
            elif verb == "DATA":
                reply("354 end with <CRLF>.<CRLF>")
                data = []
                while True:
                    chunk = f.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                self.messages.append(email.message_from_bytes(b"".join(data), policy=policy.default))
                reply(f"250 2.0.0 Ok: queued as DEMO{len(self.messages)}")
            elif verb == "QUIT":
                reply("221 bye")
                return
            else:
                reply("502 not implemented")
