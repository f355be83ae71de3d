"""Channel model: one greenlet per channel runs its "session" (dialplan or originate program) and
fires the same events, in the same per-channel order, as a FreeSWITCH 1.10 session state machine.

Control reaches a running session only through its inbox (hangup, transfer, break, uuid_bridge,
queued executes, DTMF); blocking applications call `Channel.wait()`, which turns those messages
into exceptions so every application unwinds and reports itself the way the real switch does.
"""
from __future__ import annotations

import time
import uuid as uuidlib

import gevent
import gevent.event
import gevent.queue

from .events import Event, STATE_NUMBERS, VERBOSE_EVENTS

Q850 = {
    "NORMAL_CLEARING": 16, "USER_BUSY": 17, "NO_USER_RESPONSE": 18, "NO_ANSWER": 19,
    "CALL_REJECTED": 21, "DESTINATION_OUT_OF_ORDER": 27, "NO_ROUTE_DESTINATION": 3,
    "ORIGINATOR_CANCEL": 487, "PICKED_OFF": 0, "SYSTEM_SHUTDOWN": 503, "MANAGER_REQUEST": 503,
    "LOSE_RACE": 502, "USER_NOT_REGISTERED": 606, "UNALLOCATED_NUMBER": 1, "NORMAL_TEMPORARY_FAILURE": 41,
    "SUBSCRIBER_ABSENT": 20, "ALLOTTED_TIMEOUT": 602, "INCOMPATIBLE_DESTINATION": 88,
}


class Hangup(Exception):
    pass


class Transfer(Exception):
    def __init__(self, exten, dialplan="XML", context=None, inline_apps=None):
        super().__init__(exten)
        self.exten, self.dialplan, self.context, self.inline_apps = exten, dialplan, context, inline_apps


class UuidBridge(Exception):
    def __init__(self, peer, role):
        super().__init__(peer.uuid)
        self.peer, self.role = peer, role


class Break(Exception):
    pass


class Unbridged(Exception):
    pass


def _usec(t):
    return str(int(t * 1e6)) if t else "0"


class Channel:
    def __init__(self, switch, name, direction, *, uuid=None, kind="null", cid_name="", cid_num="",
                 dest="", context="default", variables=None, source="mod_loopback", temp_name=None):
        self.sw = switch
        self.kind = kind                      # null | loopback | phone
        self.name = name
        self.direction = direction
        self.uuid = uuid or str(uuidlib.uuid4())
        self.state = "CS_NONE"
        self.callstate = "DOWN"
        self.answer_state = "ringing"
        self.hangup_cause = None
        self.cid_name, self.cid_num = cid_name, cid_num
        self.orig_cid_num = cid_num
        self.callee_num = cid_num
        self.callee_name = ""                 # shown only when set (a loopback -a leg's)
        self.ani = cid_num
        self.dest, self.context, self.source = dest, context, source
        self.created = time.time()
        self.answered_at = 0
        self.progress_at = 0
        self.hungup_at = 0
        self.bridged_at = 0
        self.vars = {}
        self.vars_init(variables or {})
        self.inbox = gevent.queue.Queue()
        self.loopback_peer = None
        self.other_leg = None                 # Channel shown as Other-Leg-*
        self.other_type = None
        self.bridged = None                   # Channel media is bridged to
        self.meta_bindings = {}               # key -> (listen, flags, app, data)
        self.dtmf_queue = None                # digits waiting for a reader (play_and_get_digits)
        self.playing = None                   # what the channel hears from the switch
        self.current_app = None
        self.current_app_data = ""
        self.parked = False
        self.held = False
        self.intercepted = False
        self.greenlet = None
        self.done = gevent.event.Event()
        self.phone = None
        self.temp_name = temp_name
        self.hit_dialplan = True

    # -- variables -------------------------------------------------------------------------
    def vars_init(self, given):
        self.vars["direction"] = self.direction
        if self.direction == "outbound":
            self.vars["is_outbound"] = "true"
        self.vars["session_id"] = str(self.sw.next_session_id())
        for k in ("read_codec", "write_codec"):
            self.vars[k] = "L16"
        self.vars["read_rate"] = self.vars["write_rate"] = "8000"
        self.vars["channel_name"] = self.name
        self.vars["uuid"] = self.uuid
        for k, v in given.items():
            self.vars[k] = v

    def expand(self, text):
        return self.sw.expand(text, self)

    # -- events ------------------------------------------------------------------------------
    def channel_headers(self, verbose):
        h = [
            ("Channel-State", self.state),
            ("Channel-Call-State", self.callstate),
            ("Channel-State-Number", str(STATE_NUMBERS.get(self.state, 0))),
            ("Channel-Name", self.name),
            ("Unique-ID", self.uuid),
            ("Call-Direction", self.direction),
            ("Presence-Call-Direction", self.direction),
            ("Channel-HIT-Dialplan", "true" if self.hit_dialplan else "false"),
            ("Channel-Call-UUID", self.uuid),
            ("Answer-State", self.answer_state),
        ]
        if self.hangup_cause:
            h.append(("Hangup-Cause", self.hangup_cause))
        h += [("Channel-Read-Codec-Name", "L16"), ("Channel-Read-Codec-Rate", "8000"),
              ("Channel-Read-Codec-Bit-Rate", "128000"), ("Channel-Write-Codec-Name", "L16"),
              ("Channel-Write-Codec-Rate", "8000"), ("Channel-Write-Codec-Bit-Rate", "128000")]
        h += self.profile_headers("Caller")
        if self.other_leg is not None:
            h.append(("Other-Type", self.other_type or "originatee"))
            h += self.other_leg.profile_headers("Other-Leg", short=True)
        if verbose:
            h += [("variable_" + k, v) for k, v in self.vars.items()]
        return h

    def profile_headers(self, prefix, short=False):
        logical = "inbound" if (self.direction == "inbound") != (prefix == "Other-Leg") else "outbound"
        h = [(prefix + "-Direction", self.direction), (prefix + "-Logical-Direction", logical),
             (prefix + "-Caller-ID-Name", self.cid_name), (prefix + "-Caller-ID-Number", self.cid_num),
             (prefix + "-Orig-Caller-ID-Number", self.orig_cid_num)]
        if self.callee_name:
            h.append((prefix + "-Callee-ID-Name", self.callee_name))
        h += [(prefix + "-Callee-ID-Number", self.callee_num), (prefix + "-ANI", self.ani),
              (prefix + "-Destination-Number", self.dest), (prefix + "-Unique-ID", self.uuid),
              (prefix + "-Source", self.source), (prefix + "-Context", self.context),
              (prefix + "-Channel-Name", self.name)]
        if not short:
            h.append((prefix + "-Profile-Index", "1"))
        h += [(prefix + "-Profile-Created-Time", _usec(self.created)),
              (prefix + "-Channel-Created-Time", _usec(self.created)),
              (prefix + "-Channel-Answered-Time", _usec(self.answered_at)),
              (prefix + "-Channel-Progress-Time", _usec(self.progress_at)),
              (prefix + "-Channel-Progress-Media-Time", "0"),
              (prefix + "-Channel-Hangup-Time", _usec(self.hungup_at)),
              (prefix + "-Channel-Transfer-Time", "0"), (prefix + "-Channel-Resurrect-Time", "0"),
              (prefix + "-Channel-Bridged-Time", _usec(self.bridged_at)),
              (prefix + "-Channel-Last-Hold", "0"), (prefix + "-Channel-Hold-Accum", "0"),
              (prefix + "-Screen-Bit", "true"), (prefix + "-Privacy-Hide-Name", "false"),
              (prefix + "-Privacy-Hide-Number", "false")]
        return h

    def fire(self, name, pre=(), post=(), body=None, subclass=None, uuid=None, name_override=None, lead=(),
             basic=False):
        """lead: headers before the core block (sendmsg's Command...); pre: between core and channel data;
        basic: channel data without variables (switch_channel_event_set_basic_data)."""
        headers = list(lead) + self.sw.identity.core_headers(name, subclass) + list(pre)
        ch = self.channel_headers(name in VERBOSE_EVENTS and not basic)
        if uuid or name_override:
            ch = [(k, uuid if k in ("Unique-ID", "Channel-Call-UUID", "Caller-Unique-ID") and uuid else
                   (name_override if k in ("Channel-Name", "Caller-Channel-Name") and name_override else v))
                  for k, v in ch]
        headers += ch + list(post)
        self.sw.publish(Event(name, headers, body, subclass, channel_uuid=uuid or self.uuid))

    def set_state(self, state):
        self.state = state
        self.fire("CHANNEL_STATE")

    def set_callstate(self, callstate):
        if callstate == self.callstate:
            return
        old = self.callstate
        self.callstate = callstate
        self.fire("CHANNEL_CALLSTATE", post=[("Original-Channel-Call-State", old),
                                             ("Channel-Call-State-Number", "1")])

    def flip_cid(self):
        """switch_channel_flip_cid (switch_channel.c), run by switch_channel_sort_cid when an
        outbound channel first runs a dialplan or application (CF_DIALPLAN): the callee id
        becomes the caller id and the caller id the callee's ("Flipping CID from "Alice" <1001>
        to "Outbound Call" <default>" in the live log of 2026-12-01; trace s05's CALL_UPDATE)."""
        if not self.callee_name:
            return
        self.cid_name, self.callee_name = self.callee_name, self.cid_name
        self.cid_num, self.callee_num = self.callee_num, self.cid_num

    # -- answer / progress -----------------------------------------------------------------
    @property
    def is_answered(self):
        return self.answered_at != 0

    @property
    def alive(self):
        return self.hangup_cause is None

    def mark_ring_ready(self):
        if self.progress_at or self.is_answered or not self.alive:
            return
        self.progress_at = time.time()
        self.fire("CHANNEL_PROGRESS")
        if self.direction == "outbound":
            self.set_callstate("RINGING")
        self.sw.notify()

    def mark_pre_answered(self):
        if self.answer_state in ("early", "answered") or not self.alive:
            return
        self.answer_state = "early"
        self.fire("CHANNEL_PROGRESS_MEDIA")
        self.set_callstate("EARLY")
        self.sw.notify()

    def mark_answered(self):
        if self.is_answered or not self.alive:
            return
        self.answered_at = time.time()
        self.answer_state = "answered"
        self.fire("CHANNEL_ANSWER")
        self.set_callstate("ACTIVE")
        self.sw.notify()

    def answer(self):
        """Answer from inside the session: a loopback -b answers its -a first, like mod_loopback."""
        if self.is_answered:
            return
        if self.kind == "loopback" and self.loopback_peer is not None and self.direction == "inbound":
            self.loopback_peer.mark_answered()
        self.mark_answered()

    def pre_answer(self):
        if self.kind == "loopback" and self.loopback_peer is not None and self.direction == "inbound":
            self.loopback_peer.mark_pre_answered()
        self.mark_pre_answered()

    def ring_ready(self):
        if self.kind == "loopback" and self.loopback_peer is not None and self.direction == "inbound":
            self.loopback_peer.mark_ring_ready()
        self.mark_ring_ready()

    # -- control from outside ---------------------------------------------------------------
    def post(self, *msg):
        self.inbox.put(msg)

    def hangup(self, cause="NORMAL_CLEARING"):
        if not self.alive:
            return
        self.hangup_cause = cause
        self.hungup_at = time.time()
        self.answer_state = "hangup"
        self.vars["hangup_cause"] = cause
        self.vars["hangup_cause_q850"] = str(Q850.get(cause, 16))
        self.fire("CHANNEL_HANGUP")
        self.post("hangup")
        if self.greenlet is None:
            self.greenlet = gevent.spawn(self._teardown)
        self.sw.notify()

    # -- waiting -----------------------------------------------------------------------------
    def wait(self, timeout=None, until=None, breakable=False):
        """Block the session until `until()` holds or timeout; raise on hangup/transfer/bridge."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not self.alive:
                raise Hangup()
            if until is not None and until():
                return True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            try:
                msg = self.inbox.get(timeout=remaining)
            except gevent.queue.Empty:
                return False
            self.handle(msg, breakable)

    def handle(self, msg, breakable):
        kind = msg[0]
        if kind == "hangup":
            raise Hangup()
        if kind == "transfer":
            raise msg[1]
        if kind == "uuid_bridge":
            raise UuidBridge(msg[1], msg[2])
        if kind == "break":
            if breakable:
                raise Break()
        elif kind == "unbridge":
            if self.bridged is msg[1]:
                raise Unbridged()
        elif kind == "execute":
            _, app, data, app_uuid, event_uuid_cmd = msg
            self.execute(app, data, app_uuid=app_uuid)
            if event_uuid_cmd is not None:
                self.fire("PRIVATE_COMMAND", lead=event_uuid_cmd)
            pending = self.__dict__.pop("pending_bridge", None)
            if pending is not None:
                # an intercept sent to a channel in another app (e.g. park): switch_ivr_uuid_bridge
                # (switch_ivr_bridge.c) takes it out of that app into the bridge
                raise UuidBridge(pending[0], pending[1])
        elif kind == "dtmf":
            self.sw.apps.on_dtmf(self, msg[1], process=msg[2] if len(msg) > 2 else True)
        elif kind == "call":
            msg[1]()

    # -- running applications ---------------------------------------------------------------
    def execute(self, app, data="", app_uuid=None):
        fn = self.sw.apps.lookup(app)
        if fn is None:
            raise InvalidApp(app)
        app_uuid = app_uuid or str(uuidlib.uuid4())
        data = data or ""
        post = [("Application", app)]
        if data:
            post.append(("Application-Data", data))
        post.append(("Application-UUID", app_uuid))
        self.vars["current_application"] = app
        if data:
            self.vars["current_application_data"] = data
        prev = (self.current_app, self.current_app_data)
        self.current_app, self.current_app_data = app, data
        self.fire("CHANNEL_EXECUTE", post=post)
        try:
            fn(self, data)
        finally:
            self.vars["last_app"] = app
            if data:
                self.vars["last_arg"] = data
            resp = self.vars.get("current_application_response", "_none_")
            self.fire("CHANNEL_EXECUTE_COMPLETE",
                      post=post[:-1] + [("Application-Response", resp), post[-1]])
            self.current_app, self.current_app_data = prev

    def run_apps(self, apps):
        """Run (app, data) pairs in order; a uuid_bridge interrupting one resumes the list after it."""
        for app, data in apps:
            if not self.alive:
                raise Hangup()
            try:
                self.execute(app, self.expand(data) if data else data)
            except UuidBridge as req:
                self.sw.apps.soft_bridge(self, req.peer, req.role)
            pending = self.__dict__.pop("pending_bridge", None)
            if pending is not None:     # intercept: bridge once the app has reported completion
                self.sw.apps.soft_bridge(self, pending[0], pending[1])

    # -- session -----------------------------------------------------------------------------
    def start(self, program):
        """program: ('apps', [(app, data)]) | ('dialplan', exten, context) | ('exchange',)."""
        self.greenlet = gevent.spawn(self._session, program)
        return self.greenlet

    def _session(self, program):
        try:
            try:
                self._run_program(program)
                if self.alive:
                    self.hangup("NORMAL_CLEARING")
            except Hangup:
                pass
            except InvalidApp:
                self.hangup("DESTINATION_OUT_OF_ORDER")
        except Exception:  # a simulator bug must not leave a zombie channel behind
            import traceback
            traceback.print_exc()
            if self.alive:
                self.hangup("NORMAL_TEMPORARY_FAILURE")
        finally:
            self._teardown()

    def _run_program(self, program):
        while True:
            try:
                kind = program[0]
                if kind == "apps":
                    if self.state != "CS_EXECUTE":
                        self.set_state("CS_EXECUTE")
                    self.run_apps(program[1])
                elif kind == "dialplan":
                    self.route(program[1], program[2])
                elif kind == "inline":
                    self.set_state("CS_ROUTING")
                    self.set_state("CS_EXECUTE")
                    self.run_apps(program[1])
                elif kind == "exchange":
                    self.sw.apps.exchange_media(self)
                return
            except Transfer as t:
                if t.inline_apps is not None:
                    program = ("inline", t.inline_apps)
                else:
                    self.dest = t.exten
                    if t.context:
                        self.context = t.context
                    program = ("dialplan", t.exten, self.context)
            except UuidBridge as req:
                self.sw.apps.soft_bridge(self, req.peer, req.role)
                program = ("apps", [])

    def route(self, exten, context):
        self.dest = exten
        self.context = context
        if self.state != "CS_ROUTING":
            self.set_state("CS_ROUTING")
        apps = self.sw.dialplan.route(self, exten, context)
        if apps is None:
            self.hangup("NO_ROUTE_DESTINATION")
            raise Hangup()
        self.set_state("CS_EXECUTE")
        self.run_apps(apps)

    def _teardown(self):
        if self.done.is_set() or getattr(self, "_tearing", False):
            return
        self._tearing = True
        if self.alive:
            self.hangup("NORMAL_CLEARING")
        cause = self.hangup_cause
        self.set_state("CS_HANGUP")
        self.set_callstate("HANGUP")
        peer = self.loopback_peer
        if peer is not None and peer.alive:
            peer.hangup(cause)
        if self.bridged is not None:
            other = self.bridged
            self.bridged = None
            if other.bridged is self:
                other.post("unbridge", self)
        self.sw.apps.on_channel_gone(self)
        self.vars["end_stamp"] = time.strftime("%Y-%m-%d %H:%M:%S")
        self.set_state("CS_REPORTING")
        self.fire("CHANNEL_HANGUP_COMPLETE", pre=[("Hangup-Cause", cause)])
        self.sw.forget(self)
        self.fire("CHANNEL_DESTROY")
        self.set_state("CS_DESTROY")
        if self.phone is not None:
            self.phone.on_channel_gone(self)
        self.done.set()
        self.sw.notify()

    # -- what a listener on this channel experiences ------------------------------------------
    def far_end(self):
        """Follow bridges and loopback pairs to the channel really at the other end."""
        seen = set()
        ch = self
        while True:
            seen.add(ch.uuid)
            nxt = ch.bridged
            if nxt is None or nxt.uuid in seen:
                return None if ch is self else ch
            seen.add(nxt.uuid)
            if nxt.kind == "loopback" and nxt.loopback_peer is not None and nxt.loopback_peer.uuid not in seen:
                ch = nxt.loopback_peer
                if ch.bridged is None:
                    return ch
                continue
            return nxt

    def __repr__(self):
        return "<Channel %s %s %s %s>" % (self.name, self.uuid[:8], self.state, self.answer_state)


class InvalidApp(Exception):
    pass
