"""A real SMTP server for voicemail tests: aiosmtpd in a process of its own (tests/voicemail/
smtpd.py; asyncio must not share the gevent-patched test process), on 127.0.0.1, writing each
message it accepts to a directory. A module of its own so tests/voicemail and tests/scenarios
share it (like parkrig)."""

from __future__ import annotations

import email
import socket
import subprocess
import sys
from email import policy
from pathlib import Path

SMTPD = Path(__file__).resolve().parent / "voicemail" / "smtpd.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """A real SMTP server on 127.0.0.1:port in a process of its own; `start()` again after
    `stop()` brings it back on the same port (SMTP down, then up)."""

    def __init__(self, out: Path, port: int | None = None):
        self.out = out
        self.port = port or free_port()
        self.proc = None

    def start(self, temp_fail: int = 0, tls: str | None = None, cert: "Certificate | None" = None,
              auth: str | None = None) -> "SmtpServer":
        """tls "starttls" or "tls" (implicit) with `cert`; auth "user:password" (inside TLS)."""
        self.out.mkdir(parents=True, exist_ok=True)
        extra = []
        if tls:
            extra += ["--tls", tls, "--cert", str(cert.cert), "--key", str(cert.key)]
        if auth:
            extra += ["--auth", auth]
        self.proc = subprocess.Popen([sys.executable, str(SMTPD), str(self.port), str(self.out),
                                      "--temp-fail", str(temp_fail), *extra],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"smtpd did not start: {line!r}"
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def messages(self) -> list[email.message.EmailMessage]:
        files = sorted((p for p in self.out.glob("*.eml")), key=lambda p: int(p.stem))
        return [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]




class Certificate:
    """A self-signed certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1) made by the openssl
    CLI in `directory`: `cert` (also the CA file a client trusts it with) and `key`, PEM."""

    def __init__(self, directory: Path, name: str = "smtp"):
        directory.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = directory / f"{name}.crt", directory / f"{name}.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(self.key), "-out", str(self.cert)],
                       check=True, capture_output=True)
