"""Virtual phones on a FreeSWITCH driven over its event socket: the same API as the simulator's
`fscontrol.sim.Phone`, built only from what a stock switch offers, so one scenario runs against
the simulated switch and a real one alike.

A phone is a loopback channel. Calling out, user U dials N with
    originate {origination_uuid=P,origination_caller_id_number=U,...}loopback/N/<users' context> &park()
P (loopback/N-a) is the handset; its loopback peer (loopback/N-b) is the call as the switch sees
it, running the users' dialplan. Called, the users' dial string `loopback/{ext}/phones` rings
loopback/EXT-a and sends loopback/EXT-b (the handset) into the `phones` context, which answers,
rings, rejects, answers late or plays early media after the global variable
`fscontrol_phone_mode_EXT` (set here with `global_setvar`; channels read globals when they lack
the variable). Pressing keys is
`uuid_recv_dtmf <switch-side leg> ~DIGITS` (the `~` makes the switch treat them as a phone's
keys, so bind_meta_app sees them), answering a ringing phone `uuid_answer`, hanging up
`uuid_kill`. What the user hears and whom they talk to is worked out from events: bridges,
loopback pairs, PLAYBACK/RECORD start and stop, conference membership. A ringing phone shows the
caller id the switch rings it with (the loopback -b leg's caller profile is cloned from the -a
leg's, so `origination_caller_id_name` reaches it). Media is also kept as a history
(`heard()`), because a short prompt may be over before a test looks: "heard the orbit announced,
then was hung up" is a history. A spoken number is one PLAYBACK_START/STOP whose path is a
`file_string://` of digit files (mod_say_en through switch_say_file). A calling phone whose
callee sends early media hears it (switch_ivr_originate passes a ringing peer's early media to
the bridging caller): found through the leg the caller's bridge rings, the one whose
Other-Leg-Unique-ID names the caller's switch side with Other-Type `originator`. BLF keys are
read from PRESENCE_IN: `early` rings (blinks), `confirmed` is busy, anything else idle."""

from __future__ import annotations

import re
import time
import uuid as uuidlib

import gevent

from fscontrol.esl import CommandError, EslClient, EslError
from fscontrol.esl.commands import dial_string
from fscontrol.sim.apps import media_kind
from fscontrol.sim.waits import Changes, PhoneWaits

MEDIA_EVENTS = ("PLAYBACK_START", "PLAYBACK_STOP", "RECORD_START", "RECORD_STOP", "DTMF",
                "PRESENCE_IN", "MESSAGE_WAITING", "conference::maintenance")
MODE_VAR = "fscontrol_phone_mode_"
LAMP = {"early": "ringing", "confirmed": "busy"}   # PRESENCE_IN answer-state -> a BLF key


class Leg:
    """One channel as last seen in events."""

    def __init__(self, uuid):
        self.uuid = uuid
        self.name = None
        self.direction = None
        self.context = None
        self.dest = None
        self.answered = False
        self.alive = True
        self.hangup_cause = None
        self.bridged = None      # uuid of the bridge peer
        self.peer = None         # uuid of the other leg of a loopback pair
        self.playing = None      # (kind, detail) of what the switch plays to it
        self.originator = None   # uuid of the channel whose bridge (originate) rings this leg
        self.phone = None        # the LivePhone whose handset this is
        self.seen = False        # any event seen (False for a leg we are still originating)
        self.stale = False       # first seen already ending: a call from before this connection
        self.cid_name = None     # caller id shown on this leg (a ringing handset: who calls)
        self.cid_number = None
        self.media = []          # (sequence, kind, path) of every media started on this leg

    @property
    def is_answered(self):
        return self.answered

    def __repr__(self):
        return "<Leg %s %s %s>" % (self.name, self.uuid[:8], "answered" if self.answered else "")


class _Client(EslClient):
    """An EslClient that also hands every event, in stream order, to `sink` (never blocks)."""

    def __init__(self, *args, sink, **kw):
        super().__init__(*args, **kw)
        self._sink = sink

    def process_event(self, event):
        super().process_event(event)
        self._sink(event)


class LiveSwitch(Changes):
    """Phones on a switch at host:port. `context`: where users' calls enter (switch.context);
    `phones_context`: where the users' dial string sends the ringing handset."""

    def __init__(self, host="127.0.0.1", port=8021, password="ClueCon", context="default",
                 phones_context="phones", command_timeout=5.0):
        self.context = context
        self.phones_context = phones_context
        self.esl = _Client(host, port, password, events=MEDIA_EVENTS, sink=self._on_event,
                           heartbeat_interval=None, command_timeout=command_timeout,
                           connect_timeout=3.0, backoff=(0.05, 1.0))
        self.legs = {}
        self.phones = {}
        self._dead = set()
        self.ended = {}          # uuid -> Leg of destroyed legs: a phone's history needs its peers
        self._media_seq = 0
        self.lamps = {}          # (proto, login) -> "ringing" | "busy" | "idle": a BLF key now
        self.lamp_history = {}   # (proto, login) -> what the key showed, in order, repeats folded
        self.mwi = {}            # mailbox -> (MWI-Messages-Waiting, MWI-Voice-Message) last sent
        Changes.__init__(self)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self, timeout=10.0):
        self.esl.connect(timeout=timeout)
        return self

    def stop(self):
        try:
            self.forget_phones(list(self.phones))
        except EslError:
            pass
        self.esl.stop()

    def api(self, command):
        return self.esl.api(command)

    def hangup_all(self, timeout=10.0):
        """Every channel on the switch hung up and gone (between scenarios): the live session
        count is 0 (`status`, switch_core_session_count) *and* `show channels` is empty. Each
        alone can say so too early. The count drops in switch_core_session_perform_destroy just
        before CHANNEL_DESTROY is fired, so that event may still be on its way. The table is
        written by switch_core_sqldb.c from the events, queued: a leg created a moment ago may
        not be in it yet, and a row stays until its CHANNEL_DESTROY is processed, so the next
        scenario's controller, which reconciles from `show channels` when it connects, would
        take a leg already gone for a live one (its CHANNEL_DESTROY went out before that
        controller subscribed)."""
        self.api("hupall MANAGER_REQUEST")
        deadline = time.monotonic() + timeout
        while True:
            status = self.api("status")
            m = re.search(r"^(\d+) session\(s\) - peak", status, re.M)
            rows = self.api("show channels as json")
            if m and m.group(1) == "0" and '"row_count":0' in rows.replace(" ", ""):
                return
            if time.monotonic() >= deadline:
                raise TimeoutError("channels still up after hupall: %s / %s"
                                   % (status[:300], rows[:300]))
            gevent.sleep(0.02)

    # -- phones ------------------------------------------------------------------------------
    def register(self, user, name=None):
        phone = self.phones.get(user)
        if phone is None:
            phone = self.phones[user] = LivePhone(self, user, name)
        phone.registered = True
        phone._apply_mode()
        return phone

    def forget_phones(self, users):
        """No phone of `users` registered: global variables outlive a test run, so a run killed
        half-way would leave phones answering in the next one (the simulator starts clean)."""
        for user in users:
            self._set_mode(user, "")

    def _set_mode(self, user, mode):
        reply = self.api("global_setvar %s%s=%s" % (MODE_VAR, user, mode))
        if reply.startswith("-ERR"):
            raise CommandError(reply[4:].strip(), "global_setvar", reply)

    # -- events ------------------------------------------------------------------------------

    def _leg(self, uuid, create=True):
        leg = self.legs.get(uuid)
        if leg is None and create and uuid not in self._dead:
            leg = self.legs[uuid] = Leg(uuid)
        return leg

    def blf(self, login, proto="park"):
        """What a BLF key watching `login` (e.g. an orbit, "park+7001" on a SIP phone; a pickup
        group, "pickup+*8001") shows: "ringing" (answer-state early: the key blinks), "busy"
        (confirmed), "idle", or None before any PRESENCE_IN for it. Read from the PRESENCE_IN
        events the switch passes to its presence subscribers (mod_sofia turns them into NOTIFYs:
        sofia_presence.c sends the dialog state `early` or `confirmed` as the answer-state)."""
        return self.lamps.get((proto, login))

    def blf_history(self, login, proto="park"):
        """Every state the key showed since this driver connected, in order, repeats folded (a
        re-sent state changes nothing on the key)."""
        return list(self.lamp_history.get((proto, login), ()))

    def message_waiting(self, box):
        """What the message waiting lamp of `box`'s phones was last told: ("yes", "2/1 (0/0)")
        — MESSAGE_WAITING events, which mod_sofia sends to the box's phones as NOTIFY
        message-summary (Messages-Waiting, Voice-Message) — or None before any."""
        return self.mwi.get(box)

    def _on_event(self, ev):
        name, uuid = ev.name, ev.uuid
        if name == "MESSAGE_WAITING":
            account = ev.headers.get("MWI-Message-Account", "")
            box = account.split(":", 1)[-1].split("@")[0]
            self.mwi[box] = (ev.headers.get("MWI-Messages-Waiting"), ev.headers.get("MWI-Voice-Message"))
            self.notify()
            return
        if name == "PRESENCE_IN":
            h = ev.headers
            if h.get("login"):
                key = (h.get("proto"), h.get("login"))
                shown = LAMP.get(h.get("answer-state"), "idle")
                self.lamps[key] = shown
                history = self.lamp_history.setdefault(key, [])
                if not history or history[-1] != shown:
                    history.append(shown)
                self.notify()
            return
        if not uuid:
            return
        if name == "CHANNEL_UUID":
            old = ev.headers.get("Old-Unique-ID")
            if old and old in self.legs and uuid not in self.legs:
                leg = self.legs.pop(old)
                leg.uuid = uuid
                self.legs[uuid] = leg
        if ev.state is None and name not in ("PLAYBACK_START", "PLAYBACK_STOP", "RECORD_START",
                                            "RECORD_STOP", "CUSTOM", "DTMF"):
            return
        leg = self._leg(uuid)
        if leg is None:
            return
        if not leg.seen and leg.phone is None and (
                name in ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DESTROY")
                or ev.hangup_cause or ev.answer_state == "hangup"):
            leg.stale = True     # it ended before we knew it: an earlier call, never a phone's
        leg.seen = True
        h = ev.headers
        leg.name = ev.channel_name or leg.name
        leg.direction = ev.direction or leg.direction
        leg.context = h.get("Caller-Context", leg.context)
        leg.dest = ev.destination_number or leg.dest
        leg.cid_name = h.get("Caller-Caller-ID-Name", leg.cid_name)
        leg.cid_number = h.get("Caller-Caller-ID-Number", leg.cid_number)
        if leg.direction == "outbound" and h.get("Other-Type") == "originator" \
                and h.get("Other-Leg-Unique-ID"):
            leg.originator = h["Other-Leg-Unique-ID"]
        peer = ev.variables.get("other_loopback_leg_uuid")
        if peer and peer != uuid:
            leg.peer = peer
            other = self._leg(peer, create=False)
            if other is not None and other.peer is None:
                other.peer = uuid
        if ev.answer_state == "answered" or name == "CHANNEL_ANSWER":
            leg.answered = True
        if name == "CHANNEL_BRIDGE":
            a, b = h.get("Bridge-A-Unique-ID"), h.get("Bridge-B-Unique-ID")
            if a and b:
                for x, y in ((a, b), (b, a)):
                    xl = self._leg(x)
                    if xl is not None:
                        xl.bridged = y
        elif name == "CHANNEL_UNBRIDGE":
            a, b = h.get("Bridge-A-Unique-ID"), h.get("Bridge-B-Unique-ID")
            for x in (a, b):
                xl = self._leg(x, create=False) if x else None
                if xl is not None and xl.bridged in (a, b):
                    xl.bridged = None
        elif name == "CHANNEL_HANGUP":
            leg.alive = False
            leg.hangup_cause = ev.hangup_cause or leg.hangup_cause
        elif name == "PLAYBACK_START":
            path = h.get("Playback-File-Path", "")
            leg.playing = (media_kind(path), path)
            self._heard(leg)
        elif name == "PLAYBACK_STOP":
            leg.playing = None
        elif name == "RECORD_START":
            leg.playing = ("recording", h.get("Record-File-Path", ""))
            self._heard(leg)
        elif name == "RECORD_STOP":
            leg.playing = None
        elif name == "CUSTOM" and ev.subclass == "conference::maintenance":
            action = h.get("Action")
            if action == "add-member":
                leg.playing = ("conference", h.get("Conference-Name", ""))
            elif action == "del-member":
                leg.playing = None
        if leg.phone is None and not leg.stale and leg.alive:
            self._claim_called_handset(leg)
        if name == "CHANNEL_DESTROY":
            leg.alive = False
            leg.hangup_cause = ev.hangup_cause or leg.hangup_cause
            self.legs.pop(uuid, None)
            self._dead.add(uuid)
            self.ended[uuid] = leg
            if leg.bridged and leg.bridged in self.legs and self.legs[leg.bridged].bridged == uuid:
                self.legs[leg.bridged].bridged = None
            if leg.phone is not None:
                leg.phone._gone(leg)
        self.notify()

    def _heard(self, leg):
        """Media started on `leg`, recorded on the leg itself in stream order. Whose handset
        hears it is decided when a phone asks (`LivePhone.heard`): the loopback pairing of a
        leg may become known only after its media started, and a second call may ring the
        phone before a prompt of the first one is over."""
        self._media_seq += 1
        leg.media.append((self._media_seq, leg.playing[0], leg.playing[1]))

    def leg(self, uuid):
        """A leg by uuid, live or ended."""
        return self.legs.get(uuid) or self.ended.get(uuid) if uuid else None

    def _claim_called_handset(self, leg):
        """A loopback -b leg entering the phones context at EXT is EXT's handset ringing. Tried
        on every event of a leg until it is claimed (not only its first), never for a leg that
        was already ending when first seen."""
        if leg.context != self.phones_context or leg.direction != "inbound":
            return
        phone = self.phones.get(leg.dest or "")
        if phone is not None:
            phone._incoming(leg)

    # -- what a handset experiences ------------------------------------------------------------
    def switch_side(self, leg):
        """The leg the switch runs the call on for this handset (its loopback peer)."""
        return self.legs.get(leg.peer) if leg.peer else None

    def far_end(self, start):
        """Follow bridges and loopback pairs from `start` to the leg really at the other end."""
        seen = {start.uuid}
        cur = start
        while True:
            nxt = self.legs.get(cur.bridged) if cur.bridged else None
            if nxt is None or nxt.uuid in seen:
                return None if cur is start else cur
            seen.add(nxt.uuid)
            peer = self.legs.get(nxt.peer) if nxt.peer else None
            if peer is not None and peer.uuid not in seen:
                seen.add(peer.uuid)
                cur = peer
                if cur.bridged is None:
                    return cur
                continue
            return nxt


class LivePhone(PhoneWaits):
    """Same surface as fscontrol.sim.Phone (see there for the meaning of each method)."""

    def __init__(self, switch, user, name=None):
        self.sw = switch
        self.user = user
        self.name = name or user
        self.registered = False
        self.policy = "ring"
        self.answer_delay = 0.0
        self.channel = None
        self.calls = []
        self.last_hangup_cause = None
        self.messages = []

    def __repr__(self):
        return "<LivePhone %s %s>" % (self.user, self.state)

    # -- registration / behaviour -------------------------------------------------------------
    def _apply_mode(self):
        if not self.registered:
            mode = ""
        elif self.policy == "answer_after":
            mode = "answer_after_%d" % int(self.answer_delay * 1000)
        else:
            mode = self.policy
        self.sw._set_mode(self.user, mode)

    def unregister(self):
        self.registered = False
        self._apply_mode()

    def auto_answer(self):
        self.policy = "answer"
        self._apply_mode()

    def ring_forever(self):
        self.policy = "ring"
        self._apply_mode()

    def answer_after(self, seconds):
        self.policy, self.answer_delay = "answer_after", float(seconds)
        self._apply_mode()

    def reject_busy(self):
        self.policy = "busy"
        self._apply_mode()
        leg = self.ringing_call()
        if leg is not None:
            self.sw.api("uuid_kill %s USER_BUSY" % leg.uuid)

    def early_media(self):
        """Calls to this phone get early media (183 and a tone, never answered): the phones
        context pre-answers the call and plays a tone until the caller gives up."""
        self.policy = "early"
        self._apply_mode()

    def busy_now(self):
        return self.policy == "busy"

    # -- calls -------------------------------------------------------------------------------
    def _incoming(self, leg):
        leg.phone = self
        self.channel = leg
        self.calls.append(leg)
        self.sw.notify()

    def _gone(self, leg):
        self.last_hangup_cause = leg.hangup_cause
        if self.channel is leg:
            self.channel = None
        self.sw.notify()

    def dial(self, number, variables=None):
        """Place a call: the switch sees a call from this user entering the users' context at
        `number`. `variables` are set on that call (e.g. call_timeout)."""
        uuid = str(uuidlib.uuid4())
        leg = self.sw._leg(uuid)
        leg.phone = self
        self.channel = leg
        self.calls.append(leg)
        vars_ = {"origination_uuid": uuid, "origination_caller_id_number": self.user,
                 "origination_caller_id_name": self.name}
        vars_.update(variables or {})
        dial = dial_string("loopback/%s/%s" % (number, self.sw.context), vars_)
        job = self.sw.esl.bgapi_job("originate %s &park()" % dial, timeout=120)

        def failed():
            try:
                job.get(0)
            except CommandError as e:   # no channel ever reported: gone with the job's cause
                if not leg.seen and self.channel is leg:
                    leg.alive, leg.hangup_cause = False, e.cause
                    self.sw.legs.pop(uuid, None)
                    self._gone(leg)
            except EslError:
                pass
        # a link callback runs in the hub, where get() may not block (gevent makes a waiter
        # queue behind the links being notified): look at the outcome from a greenlet
        job.rawlink(lambda _result: gevent.spawn(failed))
        self.sw.notify()
        return leg

    def answer(self, timeout=5.0):
        self.wait_for(lambda p: p.ringing_call() is not None, timeout, "a call ringing on %s" % self.user)
        leg = self.ringing_call()
        self.sw.api("uuid_answer %s" % leg.uuid)
        self.wait_for(lambda p: leg.answered or not leg.alive, timeout, "the answer on %s" % self.user)
        return leg

    def ringing_call(self):
        leg = self.channel
        if leg is not None and leg.direction == "inbound" and leg.context == self.sw.phones_context \
                and leg.alive and not leg.answered:
            return leg
        return None

    def _is_called(self, leg):
        return leg.context == self.sw.phones_context and leg.direction == "inbound"

    def send_dtmf(self, digits):
        leg = self.channel
        if leg is None or not leg.alive:
            raise RuntimeError("phone %s has no call to send DTMF on" % self.user)
        side = self.sw.switch_side(leg)
        if side is None:
            raise RuntimeError("phone %s: the switch side of its call is not known yet" % self.user)
        # "~": received as a phone's keys; without it the switch queues them with
        # DTMF_FLAG_SKIP_PROCESS and bind_meta_app never sees them (switch_channel.c)
        self.sw.api("uuid_recv_dtmf %s ~%s" % (side.uuid, digits))

    def speak(self, seconds):
        """The user talks for `seconds`: a tone played into the handset, which its loopback
        peer (the call on the switch) reads as the caller's voice (mod_loopback passes what is
        written to one leg to the other's read)."""
        leg = self.channel
        if leg is None or not leg.alive:
            raise RuntimeError("phone %s has no call to speak on" % self.user)
        self.sw.api("uuid_broadcast %s %s aleg" % (leg.uuid, self.voice(seconds)))

    @staticmethod
    def voice(seconds):
        return "tone_stream://%%(%d,0,440)" % int(seconds * 1000)

    def hangup(self, cause=None):
        leg = self.channel
        if leg is None or not leg.alive:
            return
        if cause is None:
            if leg.answered:
                cause = "NORMAL_CLEARING"
            elif not self._is_called(leg):
                cause = "ORIGINATOR_CANCEL"
            else:
                cause = "CALL_REJECTED"
        self.sw.api("uuid_kill %s %s" % (leg.uuid, cause))

    # -- what the user experiences --------------------------------------------------------------
    def heard(self):
        """What the user heard played (music, prompt, tone, recording, ...) in every call of
        this phone since it was registered, current or ended, in order, repeats folded: e.g.
        ["prompt"] for a spoken orbit. Media played to a handset's switch side (its loopback
        peer, where the switch runs the call) count as well as media on the handset itself."""
        out = []
        for _seq, kind, _path in self._media():
            if not out or out[-1] != kind:
                out.append(kind)
        return out

    def played(self, call=None):
        """The sounds themselves (file paths, tone_stream:// scripts), in order, repeats folded:
        what tells one tone prompt from another (a pickup's nothing-ringing and refused). Of
        every call as `heard()`, or only of `call` (the leg `dial()` returned)."""
        out = []
        for _seq, _kind, path in self._media([call] if call is not None else None):
            if not out or out[-1] != path:
                out.append(path)
        return out

    def _media(self, calls=None):
        media = []
        for handset in self.calls if calls is None else calls:
            media += handset.media
            side = self.sw.leg(handset.peer)
            if side is not None:
                media += side.media
        return sorted(media)

    @property
    def state(self):
        leg = self.channel
        if leg is None:
            return "idle"
        if not leg.alive:
            return "hanging_up"
        if self._is_called(leg) and not leg.answered:
            return "ringing"
        if not leg.answered:
            return "dialing"
        return "talking"

    def _early_media(self, side):
        """What the callee plays while it rings: media on the leg the caller's bridge rings (or
        on its loopback peer, the called handset), e.g. a phone in `early` mode."""
        if side is None:
            return None
        for ringing in list(self.sw.legs.values()):
            if ringing.originator != side.uuid or not ringing.alive or ringing.answered:
                continue
            for source in (ringing, self.sw.legs.get(ringing.peer) if ringing.peer else None):
                if source is not None and source.playing is not None:
                    return source.playing[0]
        return None

    def _far(self):
        leg = self.channel
        if leg is None or not leg.alive:
            return None
        side = self.sw.switch_side(leg)
        return self.sw.far_end(side) if side is not None else None

    def connected_to(self):
        far = self._far()
        if far is None:
            return None
        return far.phone.user if far.phone is not None else far.name

    def hearing(self):
        leg = self.channel
        if leg is None or not leg.alive:
            return None
        side = self.sw.switch_side(leg)
        for source in (leg, side):
            if source is not None and source.playing is not None:
                return source.playing[0]
        far = self.sw.far_end(side) if side is not None else None
        if far is not None:
            if far.playing is not None:
                return far.playing[0]
            if far.phone is not None:
                return "voice"
            return "silence"
        if not self._is_called(leg) and not leg.answered:
            return self._early_media(side) or "ringback"
        if not leg.answered:
            return None
        return "silence"
