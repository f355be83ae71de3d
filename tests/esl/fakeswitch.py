"""A tiny scriptable ESL server for tests: default FreeSWITCH-like replies, or a recorded trace.

``FakeSwitch(script=traces.load("s02"))`` replays a real conversation: each client command is
answered with the ``recv`` messages recorded after the matching ``send`` (matched by verb),
with the recorded uuids (Job-UUID, origination_uuid, ...) rewritten to the ones the client
chose. Commands the script does not expect next get default replies. Toggle ``mute`` to stop
answering, ``send_auth_request=False`` to never greet, ``drop()`` to cut every connection.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

import gevent

from waiting import until  # noqa: F401  (re-exported for the esl tests)
from gevent.server import StreamServer

from fscontrol.esl.events import EslParser, encode_plain_event

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DISCONNECT = ("Content-Type: text/disconnect-notice\nContent-Length: 67\n\n"
              "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n")


def reply(text: str) -> str:
    return f"Content-Type: command/reply\nReply-Text: {text}\n\n"


def api_response(body: str) -> str:
    return f"Content-Type: api/response\nContent-Length: {len(body.encode())}\n\n{body}"


def command_key(command: str) -> str:
    first = command.split("\n", 1)[0]
    words = first.split(" ")
    if words[0] in ("api", "bgapi") and len(words) > 1:
        key = f"{words[0]} {words[1]}"
        if words[1] == "show" and len(words) > 2:
            key += " " + words[2]
        return key
    return words[0]


def steps_of(entries):
    """Split a trace into (leading recvs, [(send, [recvs...]), ...])."""
    lead, steps = [], []
    for e in entries:
        if e["dir"] == "send":
            steps.append((e["data"][:-2], []))
        elif e["dir"] == "recv":
            (steps[-1][1] if steps else lead).append(e["data"])
    return lead, steps


class Session:
    def __init__(self, switch: "FakeSwitch", sock):
        self.switch = switch
        self.sock = sock
        self.authed = False
        self.subscribed = False
        self.closed = False
        self.step = 0
        self.uuid_map: dict = {}
        lead, self.steps = steps_of(switch.script) if switch.script else ([], [])
        self.lead = lead

    def write(self, data):
        if self.closed:
            return
        if isinstance(data, str):
            data = data.encode("utf-8")
        try:
            self.sock.sendall(data)
        except OSError:
            self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def _map(self, text: str) -> str:
        for old, new in self.uuid_map.items():
            text = text.replace(old, new)
        return text

    def scripted(self, command: str):
        """The recorded answer to ``command``: the next step with the same verb (skipping
        recorded steps the client did not replay), or None."""
        key = command_key(command)
        last = len(self.steps) if self.switch.lookahead else min(self.step + 1, len(self.steps))
        for index in range(self.step, last):
            recorded, recvs = self.steps[index]
            if command_key(recorded) == key:
                break
        else:
            return None
        self.step = index + 1
        rec_ids = UUID_RE.findall(recorded)
        got_ids = UUID_RE.findall(command)
        if len(rec_ids) == len(got_ids):
            for old, new in zip(rec_ids, got_ids):
                if old != new:
                    self.uuid_map[old] = new
        return [self._map(r) for r in recvs]


class FakeSwitch:
    def __init__(self, password: str = "ClueCon", port: int = 0, *, script=None,
                 send_auth_request: bool = True, lookahead: bool = False):
        self.password = password
        self.script = script
        self.lookahead = lookahead  # may a command skip recorded steps to find its match?
        self.send_auth_request = send_auth_request
        self.mute = False  # received commands get no reply at all
        self.channels_json = '{"row_count": 0}\n'
        self.api_replies: dict = {}  # "uuid_kill ..." or key -> body
        self.bgapi_results: dict = {}  # command -> BACKGROUND_JOB body
        self.on_command: Optional[Callable[[Session, str], Optional[list]]] = None
        self.commands: list = []
        self.sessions: list = []
        self.connections = 0
        self._port = port
        self.server: Optional[StreamServer] = None

    # lifecycle ----------------------------------------------------------------------------
    def start(self) -> "FakeSwitch":
        self.server = StreamServer(("127.0.0.1", self._port), self._handle)
        self.server.start()
        self._port = self.server.server_port
        return self

    @property
    def port(self) -> int:
        return self._port

    def stop(self):
        """Stop listening and cut every connection (start() again to come back)."""
        if self.server is not None:
            self.server.stop(timeout=0.5)
            self.server = None
        self.drop()

    def drop(self):
        for s in list(self.sessions):
            s.close()

    @property
    def live_sessions(self):
        return [s for s in self.sessions if not s.closed]

    # pushing events -------------------------------------------------------------------------
    def push(self, data):
        for s in self.live_sessions:
            if s.subscribed:
                s.write(data)

    def push_event(self, headers: dict, body: Optional[str] = None):
        self.push(encode_plain_event(headers, body))

    # protocol -------------------------------------------------------------------------------
    def _handle(self, sock, addr):
        session = Session(self, sock)
        self.sessions.append(session)
        self.connections += 1
        if self.send_auth_request:
            if session.lead:
                for r in session.lead:
                    session.write(r)
            else:
                session.write("Content-Type: auth/request\n\n")
        buf = b""
        try:
            while not session.closed:
                data = sock.recv(65536)
                if not data:
                    break
                buf += data
                while b"\n\n" in buf:
                    head, buf = buf.split(b"\n\n", 1)
                    command = head.decode("utf-8", "replace")
                    m = re.search(r"\ncontent-length: (\d+)", command, re.I)
                    if m:  # sendevent body
                        n = int(m.group(1))
                        while len(buf) < n:
                            more = sock.recv(65536)
                            if not more:
                                break
                            buf += more
                        buf = buf[n:]
                    self.commands.append(command)
                    if not self.mute:
                        self._answer(session, command)
        except OSError:
            pass
        finally:
            session.close()

    def _answer(self, session: Session, command: str):
        if self.on_command is not None:
            custom = self.on_command(session, command)
            if custom is not None:
                for r in custom:
                    session.write(r)
                return
        scripted = session.scripted(command)
        if scripted is not None:
            for r in scripted:
                session.write(r)
                if r.startswith("Content-Type: text/disconnect-notice"):
                    session.close()
                    return
            if command.startswith("auth ") and "+OK" in "".join(scripted):
                session.authed = True
            if command.startswith("event "):
                session.subscribed = True
            return
        verb = command.split(" ", 1)[0].split("\n", 1)[0]
        if verb == "auth":
            if command[5:] == self.password:
                session.authed = True
                session.write(reply("+OK accepted"))
            else:
                session.write(reply("-ERR invalid"))
                session.write(DISCONNECT)
                session.close()
        elif not session.authed:
            session.write(reply("-ERR command not found"))
        elif verb == "event":
            session.subscribed = True
            session.write(reply("+OK event listener enabled plain"))
        elif verb == "exit":
            session.write(reply("+OK bye"))
            session.write(DISCONNECT)
            session.close()
        elif verb == "api":
            cmd = command[4:]
            if cmd == "show channels as json":
                session.write(api_response(self.channels_json))
            else:
                body = self.api_replies.get(cmd, self.api_replies.get(cmd.split(" ", 1)[0], "+OK\n"))
                session.write(api_response(body))
        elif verb == "bgapi":
            first, _, rest = command[6:].partition("\n")
            job = re.search(r"Job-UUID: (\S+)", rest)
            job_uuid = job.group(1) if job else "00000000-0000-0000-0000-0000000000ff"
            session.write(reply(f"+OK Job-UUID: {job_uuid}") [:-1] + f"Job-UUID: {job_uuid}\n\n")
            body = self.bgapi_results.get(first, self.bgapi_results.get(first.split(" ", 1)[0], "+OK\n"))
            if body is not None:
                session.write(encode_plain_event({
                    "Event-Name": "BACKGROUND_JOB", "Job-UUID": job_uuid,
                    "Job-Command": first.split(" ", 1)[0],
                    "Job-Command-Arg": first.partition(" ")[2]}, body))
        elif verb in ("sendmsg", "sendevent", "nixevent", "noevents", "filter", "myevents"):
            session.write(reply("+OK"))
        else:
            session.write(reply("-ERR command not found"))


def parse_stream(data: bytes):
    return EslParser().feed(data)
