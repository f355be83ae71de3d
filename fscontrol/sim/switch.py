"""SimSwitch: the simulated FreeSWITCH as one object — listener, channel registry, event fan-out,
dialplan, virtual phones and the fault switches tests flip."""
from __future__ import annotations

import re
import socket
import time

import gevent
from gevent.server import StreamServer

from .api import Api
from .apps import Apps
from .conference import Conferences
from .valet import Valet
from .dialplan import Dialplan, DialplanSourceError
from .events import Event, Identity
from .phones import Phone
from .server import CLOSE, Connection
from .waits import Changes
from . import wire


class SimSwitch(Changes):
    def __init__(self, password="ClueCon", host="127.0.0.1", port=0, context="default",
                 domain="fscontrol.test", dialplan=None, heartbeat=20.0, file_duration=0.2,
                 hostname="sim", voicemail_phrases=True):
        self.password = password
        self.host = host
        self.port = port
        self.context = context
        self.domain = domain
        self.heartbeat_interval = heartbeat
        self.file_duration = file_duration      # simulated length of a sound file
        self.voicemail_phrases = voicemail_phrases  # False: voicemail cannot greet and returns (s11)
        self.identity = Identity(hostname=hostname)
        self.dialplan = Dialplan()
        self._dialplan_sources = []
        self.apps = Apps(self)
        self.api = Api(self)
        self.globals = {"domain": domain, "hostname": hostname}
        self.phones = {}
        self.known_users = set()
        self.conferences = Conferences(self)
        self.valet = Valet(self)
        self.calls = {}                         # caller uuid -> (callee uuid, bridged at): the sqldb `calls` table
        self.voicemails = []
        # mod_local_stream: the running streams, and the names its local_stream.conf holds (None:
        # the sim reads no local_stream.conf, so `local_stream start NAME` starts any NAME)
        self.local_streams = set()
        self.local_stream_conf = None
        self._channels = {}
        self._connections = set()
        self._listeners = []
        Changes.__init__(self)
        self._session_ids = 0
        self.session_count = 0
        self.peak = 0
        self.reply_delay = 0.0
        self.refusing = False
        self.drop_before = None   # fault: a command line prefix (see drop_at)
        self._server = None
        self._greenlets = set()
        self.is_shut_down = False
        if dialplan is not None:
            self.load_dialplan(dialplan)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self):
        self._server = StreamServer((self.host, self.port), self._accept)
        self._server.start()
        self.port = self._server.server_port
        if self.heartbeat_interval:
            self.spawn(self._heartbeat_loop)
        return self

    def stop(self):
        for g in list(self._greenlets):
            g.kill(block=False)
        for ch in self.channels():
            ch.hangup("SYSTEM_SHUTDOWN")
        for conn in list(self._connections):
            conn.close()
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def spawn(self, fn, *args):
        g = gevent.spawn(fn, *args)
        self._greenlets.add(g)
        g.link(self._greenlets.discard)
        return g

    def spawn_later(self, seconds, fn, *args):
        g = gevent.spawn_later(seconds, fn, *args)
        self._greenlets.add(g)
        g.link(self._greenlets.discard)
        return g

    def _accept(self, sock, addr):
        if self.refusing:
            sock.close()
            return
        # mod_event_socket sets TCP_NODELAY on accepted sockets; without it, many small event
        # writes meet the client's delayed ACK and every burst arrives ~40 ms late.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(self, sock, addr)
        self._connections.add(conn)
        conn.serve()

    def connection_closed(self, conn):
        self._connections.discard(conn)

    def _heartbeat_loop(self):
        while True:
            gevent.sleep(self.heartbeat_interval)
            self.fire_global("HEARTBEAT", post=[
                ("Event-Info", "System Ready"), ("Up-Time", "0 years, 0 days"),
                ("FreeSWITCH-Version", "1.10.12-release~64bit"), ("Uptime-msec",
                 str(int((time.time() - self.identity.started) * 1000))),
                ("Session-Count", str(len(self._channels))), ("Max-Sessions", "1000"),
                ("Session-Per-Sec", "30"), ("Session-Per-Sec-Last", "0"), ("Session-Per-Sec-Max", "1"),
                ("Session-Per-Sec-FiveMin", "0"), ("Session-Since-Startup", str(self.session_count)),
                ("Session-Peak-Max", str(self.peak)), ("Session-Peak-FiveMin", str(self.peak)),
                ("Idle-CPU", "99.000000")])

    # -- dialplan ----------------------------------------------------------------------------
    def load_dialplan(self, source, replace=True):
        """source: XML string, file, or directory. replace=False adds to what is loaded. Extensions
        outside any <context> go into this switch's context; raises DialplanSourceError (nothing
        changes) for a missing, unreadable or malformed source or one without any extension."""
        loaded = Dialplan()
        if not replace:
            loaded.contexts = {name: list(exts) for name, exts in self.dialplan.contexts.items()}
        loaded.load(source, self.context)
        self.dialplan.contexts = loaded.contexts
        self._dialplan_sources = (self._dialplan_sources if not replace else []) + [source]

    def reload_dialplan(self):
        """reloadxml: re-read every source; if one no longer loads, the previous dialplan stays
        (as FreeSWITCH keeps its XML when the new one fails to parse)."""
        loaded = Dialplan()
        try:
            for src in self._dialplan_sources:
                loaded.load(src, self.context)
        except DialplanSourceError:
            return
        self.dialplan.contexts = loaded.contexts

    # -- channels ------------------------------------------------------------------------------
    def next_session_id(self):
        self._session_ids += 1
        return self._session_ids

    def track(self, ch):
        self._channels[ch.uuid] = ch
        self.session_count += 1
        self.peak = max(self.peak, len(self._channels))
        self.notify()

    def forget(self, ch):
        self._channels.pop(ch.uuid, None)
        self.notify()

    def channels(self):
        """Live channels, oldest first (assertions only: do not drive calls through them)."""
        return list(self._channels.values())

    def find(self, uuid):
        return self._channels.get(uuid)

    def variable(self, ch, name, default=""):
        builtin = {"uuid": ch.uuid, "caller_id_number": ch.cid_num, "caller_id_name": ch.cid_name,
                   "destination_number": ch.dest, "context": ch.context, "channel_name": ch.name,
                   "ani": ch.ani, "call_uuid": ch.uuid}
        if name in ch.vars:
            return ch.vars[name]
        if name in builtin:
            return builtin[name]
        return self.globals.get(name, default)

    def expand(self, text, ch):
        if not text or "$" not in text:
            return text

        def sub(m):
            name = m.group(1)
            if ch is None:
                return self.globals.get(name, "")
            return self.variable(ch, name, "")

        text = re.sub(r"\$\$\{([^}]+)\}", lambda m: self.globals.get(m.group(1), ""), text)
        return re.sub(r"\$\{([^}]+)\}", sub, text)

    # -- events --------------------------------------------------------------------------------

    def publish(self, ev):
        for conn in list(self._connections):
            conn.offer(ev)
        for fn in list(self._listeners):
            fn(ev)

    def add_listener(self, fn):
        """fn(Event) for every event (used by `python -m fscontrol.sim` and tests)."""
        self._listeners.append(fn)

    def fire_global(self, name, post=(), body=None, subclass=None, lead=()):
        headers = list(lead) + self.identity.core_headers(name, subclass) + list(post)
        self.publish(Event(name, headers, body, subclass))

    def fire_api_event(self, cmd, arg):
        self.fire_global("API", post=[("API-Command", cmd)] + ([("API-Command-Argument", arg)] if arg else []))

    def fire_sent_event(self, name, headers, body, event_uuid):
        subclass = next((v for k, v in headers if k == "Event-Subclass"), None)
        lead = [("Command", "sendevent %s" % name)] + [(k, v) for k, v in headers if k != "Event-Subclass"]
        lead.append(("Event-UUID", event_uuid))
        self.fire_global(name, body=body or None, subclass=subclass, lead=lead)

    def background_job(self, job_uuid, cmd, arg):
        after = []
        text = self.api.execute(cmd, arg, after)
        self.fire_api_event(cmd, arg)
        post = [("Job-UUID", job_uuid), ("Job-Command", cmd)]
        if arg:
            post.append(("Job-Command-Arg", arg))
        self.fire_global("BACKGROUND_JOB", post=post, body=text)
        for job in after:
            job()

    def channel_row(self, ch):
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ch.created))
        peer = ch.loopback_peer or ch.other_leg
        return {
            "uuid": ch.uuid, "direction": ch.direction, "created": created,
            "created_epoch": str(int(ch.created)), "name": ch.name, "state": ch.state,
            "cid_name": ch.cid_name, "cid_num": ch.cid_num, "ip_addr": "", "dest": ch.dest,
            "application": ch.current_app or "", "application_data": ch.current_app_data or "",
            "dialplan": "xml", "context": ch.context, "read_codec": "L16", "read_rate": "8000",
            "read_bit_rate": "128000", "write_codec": "L16", "write_rate": "8000",
            "write_bit_rate": "128000", "secure": "", "hostname": self.identity.hostname,
            "presence_id": ch.vars.get("presence_id", ""), "presence_data": "", "accountcode": "",
            "callstate": ch.callstate, "callee_name": peer.cid_name if peer else "",
            "callee_num": peer.cid_num if peer else "", "callee_direction": "",
            "call_uuid": ch.vars.get("originating_leg_uuid") or (ch.uuid if ch.direction == "outbound" else ""), "sent_callee_name": "",
            "sent_callee_num": "", "initial_cid_name": ch.cid_name, "initial_cid_num": ch.cid_num,
            "initial_ip_addr": "", "initial_dest": ch.dest, "initial_dialplan": "xml",
            "initial_context": ch.context,
        }

    _CALL_COLUMNS = ("uuid", "direction", "created", "created_epoch", "name", "state", "cid_name", "cid_num",
                     "ip_addr", "dest", "presence_id", "presence_data", "accountcode", "callstate",
                     "callee_name", "callee_num", "callee_direction", "call_uuid", "hostname",
                     "sent_callee_name", "sent_callee_num")
    _B_COLUMNS = ("uuid", "direction", "created", "created_epoch", "name", "state", "cid_name", "cid_num",
                  "ip_addr", "dest", "presence_id", "presence_data", "accountcode", "callstate", "callee_name",
                  "callee_num", "callee_direction", "sent_callee_name", "sent_callee_num")

    def call_rows(self):
        """`show calls`: the core's basic_calls view, a channel left-joined with the `calls` row it
        is the caller of and that row's callee (b_*); callees are not listed on their own. Ordered
        by call_created_epoch, NULL (unbridged) first, as SQLite sorts."""
        callees = {b for b, _ in self.calls.values()}
        rows = []
        for ch in self.channels():
            if ch.uuid in callees and ch.uuid not in self.calls:
                continue
            a = self.channel_row(ch)
            row = {k: a[k] for k in self._CALL_COLUMNS}
            call = self.calls.get(ch.uuid)
            peer = self.find(call[0]) if call else None
            b = self.channel_row(peer) if peer is not None else {}
            for k in self._B_COLUMNS:
                row["b_" + k] = b.get(k, "")
            row["call_created_epoch"] = str(int(call[1])) if call else ""
            rows.append((call[1] if call else -1, row))
        return [r for _, r in sorted(rows, key=lambda x: x[0])]

    # -- phones --------------------------------------------------------------------------------
    def register(self, user, name=None):
        """Register virtual phone `user` (so user/<user>@<domain> reaches it) -> Phone."""
        phone = self.phones.get(user)
        if phone is None:
            phone = Phone(self, user, name=name)
            self.phones[user] = phone
        phone.registered = True
        self.known_users.add(user)
        return phone

    def add_user(self, user):
        """Declare a directory user that is not registered (originate -> USER_NOT_REGISTERED)."""
        self.known_users.add(user)

    # -- faults --------------------------------------------------------------------------------
    def drop_connections(self):
        for conn in list(self._connections):
            conn.abort()

    def drop_at(self, prefix):
        """Fault: the next command whose line starts with `prefix` is never run; every event
        socket connection is cut at that moment instead (the network died just then)."""
        self.drop_before = prefix

    def delay_replies(self, seconds):
        self.reply_delay = float(seconds)

    def refuse_connections(self, refuse=True):
        self.refusing = refuse

    def shutdown(self):
        """`fsctl shutdown` as s13 saw it: SHUTDOWN, every call hung up with SYSTEM_SHUTDOWN,
        "The system is being shut down." to every client, sockets closed, listener gone."""
        if self.is_shut_down:
            return
        self.is_shut_down = True
        self.fire_global("SHUTDOWN", post=[("Event-Info", "System Shutting Down")])
        chans = self.channels()
        for ch in chans:
            ch.hangup("SYSTEM_SHUTDOWN")
        for ch in chans:
            ch.done.wait(2)
        gevent.sleep(0)
        for conn in list(self._connections):
            conn.queue.put(("notice", wire.disconnect_notice(wire.SHUTDOWN_NOTICE)))
            conn.queue.put(CLOSE)
        if self._server is not None:
            self._server.close()
