"""A minimal ESL server that answers auth and subscription, then blasts recorded events.

The events are every `text/event-plain` message of the real FreeSWITCH traces in
tests/fs_traces, cycled to the requested count, so the mix (sizes, bodies, encodings) is real.
It runs in its own process so that it does not share the client's gevent hub or core.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

TRACES = Path(__file__).resolve().parents[1] / "tests" / "fs_traces"


def recorded_events() -> list[bytes]:
    events = []
    for path in sorted(TRACES.glob("s*.jsonl")):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["dir"] == "recv" and "Content-Type: text/event-plain" in record["data"].split("\n\n", 1)[0]:
                events.append(record["data"].encode())
    return events


def _reply(command: bytes) -> bytes:
    if command.startswith(b"api "):  # fscontrol's reconcile: no channels live
        body = b'{"row_count": 0}\n'
        return b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body)
    text = b"+OK accepted" if command.startswith(b"auth ") else b"+OK event listener enabled plain"
    return b"Content-Type: command/reply\nReply-Text: " + text + b"\n\n"


def _serve(listener: socket.socket, count: int, rounds: int, commands: int) -> None:
    events = recorded_events()
    blob = b"".join(events[i % len(events)] for i in range(count))
    for _ in range(rounds):
        conn, _ = listener.accept()
        conn.sendall(b"Content-Type: auth/request\n\n")
        buf = b""
        replied = 0
        while replied < commands:  # auth, the event subscription (fscontrol: + reconcile)
            chunk = conn.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf and replied < commands:
                command, buf = buf.split(b"\n\n", 1)
                conn.sendall(_reply(command))
                replied += 1
        conn.sendall(blob)
        # keep the socket open until the client is done reading and closes it
        while conn.recv(65536):
            pass
        conn.close()


def start(count: int, rounds: int, commands: int = 2):
    """Starts the blaster in a fresh interpreter (not a fork of a gevent-patched one) for
    `rounds` connections of `count` events each; returns (process, port)."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.blaster", str(count), str(rounds),
                             str(commands)],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    port = int(proc.stdout.readline())
    return proc, port


def main() -> None:
    count, rounds, commands = (int(a) for a in sys.argv[1:4])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    print(listener.getsockname()[1], flush=True)
    _serve(listener, count, rounds, commands)


if __name__ == "__main__":
    main()
