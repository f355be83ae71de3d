"""The inbound event socket (mod_event_socket): authentication, command dispatch, per-connection
subscriptions and filters, and the replies/disconnect notices worded exactly as FreeSWITCH words them.

Like the real listener thread, a connection does not deliver events while a blocking `api` runs:
they queue up and follow its api/response (s03)."""
from __future__ import annotations

import socket
import uuid as uuidlib

import gevent
import gevent.lock
import gevent.queue

from . import wire

CLOSE = object()


class Connection:
    def __init__(self, sw, sock, addr):
        self.sw = sw
        self.sock = sock
        self.addr = addr
        self.authed = False
        self.format = None              # None = not subscribed; else plain|json
        self.all_events = False
        self.events = set()
        self.custom = set()
        self.filters = []
        self.myevents = None
        self.queue = gevent.queue.Queue()
        self.busy = gevent.lock.RLock()
        self.closed = False
        self.linger = False
        self.writer = None

    # -- subscription ------------------------------------------------------------------------
    def wants(self, ev):
        if self.format is None or self.closed:
            return False
        if self.myevents is not None and ev.channel_uuid != self.myevents:
            return False
        if not self.all_events:
            if ev.name == "CUSTOM":
                if "ALL" not in self.custom and ev.subclass not in self.custom:
                    return False
            elif ev.name not in self.events:
                return False
        if self.filters:
            return any(ev.get(k) == v for k, v in self.filters)
        return True

    def offer(self, ev):
        if self.wants(ev):
            self.queue.put(ev)
            if self.myevents is not None and ev.name == "CHANNEL_HANGUP" and ev.channel_uuid == self.myevents:
                self.queue.put(("notice", wire.disconnect_notice(extra=[
                    ("Controlled-Session-UUID", self.myevents), ("Content-Disposition", "disconnect")])))
                self.queue.put(CLOSE)

    # -- I/O -----------------------------------------------------------------------------------
    def send(self, data):
        if self.closed:
            return
        try:
            self.sock.sendall(data)
        except OSError:
            self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.queue.put(CLOSE)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self.sw.connection_closed(self)

    def abort(self):
        """Drop the TCP connection without a goodbye, as a crashed switch would."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.close()

    def _write_loop(self):
        while True:
            item = self.queue.get()
            if item is CLOSE:
                with self.busy:
                    self.close()
                return
            with self.busy:
                if isinstance(item, tuple):
                    self.send(item[1])
                elif self.format == "json":
                    self.send(wire.event_json(item.headers, item.body))
                else:
                    self.send(wire.event_plain(item.headers, item.body))

    def serve(self):
        self.writer = gevent.spawn(self._write_loop)
        self.send(wire.auth_request())
        reader = wire.CommandReader()
        try:
            while not self.closed:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                for cmd in reader.feed(data):
                    self.dispatch(*cmd)
                    if self.closed:
                        break
        finally:
            self.close()

    def reply(self, text, extra=()):
        self.send(wire.command_reply(text, extra))

    def goodbye(self):
        self.send(wire.disconnect_notice())
        self.close()

    # -- commands ------------------------------------------------------------------------------
    def dispatch(self, line, headers, body):
        if self.sw.reply_delay:
            gevent.sleep(self.sw.reply_delay)
        word, _, rest = line.partition(" ")
        if not self.authed:
            if word == "auth":
                if rest.strip() == self.sw.password:
                    self.authed = True
                    self.reply("+OK accepted")
                else:
                    self.reply("-ERR invalid")
                    self.goodbye()
            elif word == "exit":
                self.reply("+OK bye")
                self.goodbye()
            else:
                self.reply("-ERR command not found")
            return
        drop = self.sw.drop_before
        if drop is not None and line.startswith(drop):
            self.sw.drop_before = None
            self.sw.drop_connections()
            return
        handler = getattr(self, "cmd_" + word, None)
        if handler is None:
            self.reply("-ERR command not found")
            return
        handler(rest.strip(), headers, body)

    def cmd_api(self, rest, headers, body):
        cmd, _, arg = rest.partition(" ")
        with self.busy:
            after = []
            text = self.sw.api.execute(cmd, arg, after)
            self.sw.fire_api_event(cmd, arg)
            self.send(wire.api_response(text))
            for job in after:
                job()

    def cmd_bgapi(self, rest, headers, body):
        job_uuid = next((v for k, v in headers if k.lower() == "job-uuid"), None) or str(uuidlib.uuid4())
        self.reply("+OK Job-UUID: %s" % job_uuid, [("Job-UUID", job_uuid)])
        cmd, _, arg = rest.partition(" ")
        self.sw.spawn(self.sw.background_job, job_uuid, cmd, arg)

    def cmd_event(self, rest, headers, body):
        words = rest.split()
        fmt = words[0].lower() if words else "plain"
        if fmt not in ("plain", "json", "xml"):
            words = ["plain"] + words
            fmt = "plain"
        self.format = "json" if fmt == "json" else "plain"
        custom_mode = False
        for w in words[1:]:
            if w == "ALL":
                self.all_events = True
            elif w == "CUSTOM":
                custom_mode = True
            elif custom_mode and "::" in w or w.count(":") >= 2:
                self.custom.add(w)
            else:
                self.events.add(w)
        self.reply("+OK event listener enabled %s" % fmt)

    def cmd_nixevent(self, rest, headers, body):
        for w in rest.split():
            if w == "ALL":
                self.all_events = False
                self.events.clear()
                self.custom.clear()
            elif "::" in w:
                self.custom.discard(w)
            else:
                self.events.discard(w)
        self.reply("+OK events nixed")

    def cmd_noevents(self, rest, headers, body):
        self.format = None
        self.all_events = False
        self.events.clear()
        self.custom.clear()
        self.reply("+OK no longer listening for events")

    def cmd_filter(self, rest, headers, body):
        words = rest.split(None, 2)
        if words and words[0] == "delete":
            if len(words) >= 2 and words[1] == "all":
                self.filters.clear()
                self.reply("+OK filter deleted. [all]")
                return
            key = words[1] if len(words) > 1 else ""
            val = words[2] if len(words) > 2 else ""
            self.filters = [(k, v) for k, v in self.filters if not (k == key and (not val or v == val))]
            self.reply("+OK filter deleted. [%s][%s]" % (key, val))
            return
        if len(words) < 2:
            self.reply("-ERR invalid syntax")
            return
        self.filters.append((words[0], words[1]))
        self.reply("+OK filter added. [%s]=[%s]" % (words[0], words[1]))

    def cmd_myevents(self, rest, headers, body):
        u = rest.split()[-1] if rest.split() else ""
        if self.sw.find(u) is None:
            self.reply("-ERR invalid uuid")
            return
        self.myevents = u
        self.format = self.format or "plain"
        self.all_events = True
        self.reply("+OK Events Enabled")

    def cmd_sendmsg(self, rest, headers, body):
        u = rest.split()[0] if rest.split() else next((v for k, v in headers if k.lower() == "unique-id"), "")
        ch = self.sw.find(u)
        if ch is None:
            self.reply("-ERR invalid session id [%s]" % u)
            return
        h = {k.lower(): v for k, v in headers}
        lead = [("Command", "sendmsg %s" % u)] + list(headers)
        command = h.get("call-command", "")
        if command == "execute":
            app = h.get("execute-app-name", "")
            arg = h.get("execute-app-arg", body or "")
            loops = int(h.get("loops", "1") or 1)
            for _ in range(loops):
                ch.post("execute", app, arg, h.get("event-uuid"), lead)
        elif command == "hangup":
            ch.hangup(h.get("hangup-cause", "NORMAL_CLEARING"))
            ch.fire("PRIVATE_COMMAND", lead=lead)
        elif command == "unicast" or command == "nomedia":
            pass
        else:
            self.reply("-ERR invalid command")
            return
        self.reply("+OK")

    def cmd_sendevent(self, rest, headers, body):
        name = rest.split()[0] if rest.split() else "CUSTOM"
        event_uuid = str(uuidlib.uuid4())
        self.sw.fire_sent_event(name, headers, body, event_uuid)
        self.reply("+OK %s" % event_uuid)

    def cmd_exit(self, rest, headers, body):
        self.reply("+OK bye")
        self.goodbye()

    def cmd_log(self, rest, headers, body):
        level = rest or "7"
        self.reply("+OK log level %s [%s]" % (level, level))

    def cmd_nolog(self, rest, headers, body):
        self.reply("+OK no longer logging")

    def cmd_linger(self, rest, headers, body):
        self.linger = True
        self.reply("+OK will linger")

    def cmd_nolinger(self, rest, headers, body):
        self.linger = False
        self.reply("+OK will not linger")

    def cmd_divert_events(self, rest, headers, body):
        self.reply("+OK events diverted" if rest.strip() == "on" else "+OK events not diverted")
