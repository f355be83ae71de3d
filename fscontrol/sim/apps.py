"""Dialplan applications (mod_dptools and friends) as the simulated switch runs them, each firing
the events the real one fires; also the bridge mechanics shared by `bridge`, `uuid_bridge` and
`intercept`, and DTMF/meta-app handling."""
from __future__ import annotations

import math
import os
import re
import struct
import time
import uuid as uuidlib
import wave

from .channels import Break, Hangup, Transfer, Unbridged
from .endpoints import OriginateFailed, _true, originate

_RESPOND_CAUSES = {
    "486": "USER_BUSY", "600": "USER_BUSY", "404": "UNALLOCATED_NUMBER", "480": "NO_USER_RESPONSE",
    "603": "CALL_REJECTED", "403": "CALL_REJECTED", "487": "ORIGINATOR_CANCEL", "408": "RECOVERY_ON_TIMER_EXPIRE",
    "503": "NORMAL_TEMPORARY_FAILURE", "500": "NORMAL_TEMPORARY_FAILURE",
}


def parse_inline(text):
    """`transfer 'a:b,c' inline`: every comma separates applications (s07), quotes are dropped."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    out = []
    for part in text.split(","):
        app, _, arg = part.partition(":")
        out.append((app.strip(), arg))
    return out


def media_kind(path):
    if path.startswith("local_stream://"):
        return "music"
    if path.startswith("tone_stream://"):
        return "tone"
    if path.startswith("silence_stream://"):
        return "silence"
    return "prompt"


class Apps:
    def __init__(self, switch):
        self.sw = switch
        self.table = {
            "answer": self.answer, "pre_answer": self.pre_answer, "ring_ready": self.ring_ready,
            "park": self.park, "playback": self.playback, "endless_playback": self.endless_playback,
            "sleep": self.sleep, "set": self.set, "export": self.export, "unset": self.unset,
            "bridge": self.bridge, "transfer": self.transfer, "hangup": self.hangup,
            "respond": self.respond, "intercept": self.intercept, "voicemail": self.voicemail,
            "conference": self.conference, "bind_meta_app": self.bind_meta_app,
            "execute_extension": self.execute_extension, "say": self.say, "log": self.noop,
            "info": self.noop, "event": self.event, "multiset": self.multiset,
            "playback_terminators": self.noop, "hold": self.noop, "unhold": self.noop,
            "send_display": self.noop, "sched_hangup": self.noop, "record_session": self.noop,
            "valet_park": lambda ch, data: self.sw.valet.park(ch, data),
            "record": self.record, "play_and_get_digits": self.play_and_get_digits,
        }

    def lookup(self, name):
        return self.table.get(name)

    # -- trivial -----------------------------------------------------------------------------
    def noop(self, ch, data):
        pass

    def answer(self, ch, data):
        ch.answer()

    def pre_answer(self, ch, data):
        ch.pre_answer()

    def ring_ready(self, ch, data):
        ch.ring_ready()

    def set(self, ch, data):
        k, _, v = data.partition("=")
        if v == "" or v == "_undef_":
            ch.vars.pop(k.strip(), None)
        else:
            ch.vars[k.strip()] = v

    def multiset(self, ch, data):
        for item in data.split():
            self.set(ch, item)

    def export(self, ch, data):
        k, _, v = data.partition("=")
        k = k.strip()
        local = not k.startswith("nolocal:")
        k = k.replace("nolocal:", "")
        ch.exports = getattr(ch, "exports", {})
        ch.exports[k] = v
        if local:
            self.set(ch, "%s=%s" % (k, v))

    def unset(self, ch, data):
        ch.vars.pop(data.strip(), None)

    def sleep(self, ch, data):
        try:
            ms = int(data.strip() or 0)
        except ValueError:
            ms = 0
        ch.wait(timeout=ms / 1000.0)

    def hangup(self, ch, data):
        ch.hangup((data or "NORMAL_CLEARING").strip().upper())
        raise Hangup()

    def respond(self, ch, data):
        code = data.strip().split(" ")[0]
        if ch.kind == "loopback":
            return     # mod_loopback ignores respond; the dialplan then ends: NORMAL_CLEARING (s04)
        if code in ("180",):
            ch.ring_ready()
        elif code in ("183",):
            ch.pre_answer()
        elif code.startswith("2"):
            ch.answer()
        elif code in _RESPOND_CAUSES or code[:1] in "3456":
            ch.hangup(_RESPOND_CAUSES.get(code, "NORMAL_TEMPORARY_FAILURE"))
            raise Hangup()

    def event(self, ch, data):
        headers, subclass = [], None
        name = "CUSTOM"
        for item in data.split(","):
            k, _, v = item.partition("=")
            if k == "Event-Subclass":
                subclass = v
            elif k == "Event-Name":
                name = v
            else:
                headers.append((k, v))
        ch.fire(name, subclass=subclass, post=headers)

    # -- media -------------------------------------------------------------------------------
    def _duration(self, path):
        if path.startswith("local_stream://"):
            return None
        if path.startswith("tone_stream://"):
            m = re.search(r"%\(([\d.]+)(?:,([\d.]+))?", path)
            if not m:
                return 0.0
            return (float(m.group(1)) + float(m.group(2) or 0)) / 1000.0
        if path.startswith("silence_stream://"):
            try:
                ms = int(path[len("silence_stream://"):].split(",")[0])
            except ValueError:
                ms = 0
            return None if ms < 0 else ms / 1000.0
        if path.startswith("file_string://"):
            parts = [p for p in path[len("file_string://"):].split("!") if p]
            durations = [self._duration(p) for p in parts]
            return None if None in durations else sum(durations)
        if os.path.isabs(path) and path.endswith(".wav") and os.path.exists(path):
            try:
                with wave.open(path, "rb") as w:
                    return w.getnframes() / float(w.getframerate() or 8000)
            except (wave.Error, EOFError, OSError):
                return 0.0
        return self.sw.file_duration

    @staticmethod
    def _missing(path):
        """An absolute file path that does not exist: switch_ivr_play_file cannot open it and
        returns SWITCH_STATUS_NOTFOUND before any PLAYBACK_START (switch_ivr_play_say.c);
        playback then answers "FILE NOT FOUND" (mod_dptools.c playback_function). Relative
        paths stay simulated sound-pack files (the simulator has no sounds directory)."""
        return os.path.isabs(path) and not os.path.exists(path)

    def playback(self, ch, data, forever=False):
        if not ch.is_answered and ch.answer_state != "early":
            ch.pre_answer()
        path = data.strip()
        if self._missing(path):
            ch.vars["current_application_response"] = "FILE NOT FOUND"
            return
        prev = ch.playing
        ch.playing = (media_kind(path), path)
        self.sw.notify()
        ch.fire("PLAYBACK_START", post=[("Playback-File-Path", path)])
        status, resp = "done", "FILE PLAYED"
        digits = getattr(ch, "collecting", None)
        try:
            if digits is not None:
                # play_and_get_digits: any key ends the prompt (its input callback)
                ch.wait(timeout=None if forever else self._duration(path), breakable=True,
                        until=lambda: bool(digits))
            elif ch.meta_bindings:
                ch.wait(timeout=None if forever else self._duration(path), breakable=True)
            else:
                # mod_dptools playback_function's on_dtmf: a key in playback_terminators
                # (default "*") ends the file (playback_terminator_used), others are dropped
                terms = ch.vars.get("playback_terminators", "*")
                terms = "" if terms == "none" else ("1234567890*#" if terms == "any" else terms)
                keys = ch.collecting = self._take_pending(ch)

                def terminated():
                    while keys:
                        key = keys.pop(0)
                        if key in terms:
                            ch.vars["playback_terminator_used"] = key
                            return True
                    return False
                try:
                    if ch.wait(timeout=None if forever else self._duration(path), breakable=True,
                               until=terminated):
                        status = "break"
                finally:
                    ch.collecting = None
        except Break:
            status = "break"
        except Transfer:
            status, resp = "break", "PLAYBACK ERROR"
            raise
        finally:
            ch.playing = prev
            ch.vars["current_application_response"] = resp
            ch.vars["playback_last_offset_pos"] = "0"
            ch.fire("PLAYBACK_STOP", post=[("Playback-File-Path", path), ("Playback-Status", status)])
            self.sw.notify()

    def endless_playback(self, ch, data):
        self.playback(ch, data, forever=True)

    def say(self, ch, data):
        """mod_say_en (en_say -> switch_ivr_play_file): one playback of a `file_string://` of
        the sound files switch_say_file (switch_loadable_module.c) collects; `number iterated`
        says one digits/N.wav per digit, as mod_say_en does. Other say types
        are one file here (their exact files are not simulated)."""
        words = data.split(None, 3)
        if len(words) == 4 and words[0] == "en" and words[2] == "iterated" and words[3].strip():
            files = ["digits/%s.wav" % c for c in words[3].strip() if c.isdigit()]
            if files:
                self.playback(ch, "file_string://" + "!".join(files))
                return
        self.playback(ch, "say:" + data)

    # -- parking / transfer ------------------------------------------------------------------
    def park(self, ch, data):
        ch.parked = True
        ch.fire("CHANNEL_PARK")
        self.sw.notify()
        try:
            while True:
                ch.wait()
        finally:
            ch.parked = False
            ch.fire("CHANNEL_UNPARK")
            self.sw.notify()

    def transfer(self, ch, data):
        raise self.parse_transfer(data, ch)

    def parse_transfer(self, data, ch):
        text = data.strip()
        if text.endswith(" inline"):
            return Transfer(None, inline_apps=parse_inline(text[: -len(" inline")]))
        parts = text.split()
        if parts and parts[0] in ("-bleg", "-both"):
            parts = parts[1:]
        exten = parts[0] if parts else ""
        dp = parts[1] if len(parts) > 1 else "XML"
        ctx = parts[2] if len(parts) > 2 else ch.context
        if dp == "inline":
            return Transfer(None, inline_apps=parse_inline(exten))
        return Transfer(exten, dp, ctx)

    def execute_extension(self, ch, data):
        parts = data.split()
        exten = parts[0] if parts else ""
        ctx = parts[2] if len(parts) > 2 else ch.context
        apps = self.sw.dialplan.route(ch, exten, ctx)
        if apps:
            ch.run_apps(apps)

    # -- bridging ----------------------------------------------------------------------------
    def bridge(self, ch, data):
        if ch.is_answered:
            ch.set_callstate("RING_WAIT")
        else:
            ch.pre_answer()
        try:
            peer = originate(self.sw, data, caller=ch)
        except OriginateFailed as f:
            ch.vars["originate_disposition"] = f.cause
            ch.vars["DIALSTATUS"] = f.cause
            ch.vars["last_bridge_hangup_cause"] = f.cause
            cof = ch.vars.get("continue_on_fail", "false")
            if cof == "true" or f.cause in cof.split(","):
                return
            ch.hangup(f.cause)
            raise Hangup()
        if not ch.alive:
            peer.hangup("ORIGINATOR_CANCEL")
            raise Hangup()
        ch.other_leg, ch.other_type = peer, "originatee"
        ch.answer()
        if ch.callstate != "ACTIVE":
            ch.set_callstate("ACTIVE")
        self._link(ch, peer, "originatee")
        peer.other_type = "originator"
        self._bridge_event(ch, peer)
        peer.start(("exchange",))
        self.sw.notify()
        try:
            while True:
                ch.wait()
        except Unbridged:
            pass
        finally:
            self._unlink(ch, peer)
            self._unbridge_event(ch, peer)
        if ch.vars.get("hangup_after_bridge", "false") == "true":
            ch.hangup("NORMAL_CLEARING")
            raise Hangup()
        if ch.vars.get("park_after_bridge", "false") == "true":
            ch.execute("park")

    def _bridge_event(self, ch, peer):
        """CHANNEL_BRIDGE; the core's sqldb then holds a `calls` row (caller a, callee b) that
        `show calls` joins into one line until CHANNEL_UNBRIDGE or a hangup removes it."""
        ch.fire("CHANNEL_BRIDGE", pre=[("Bridge-A-Unique-ID", ch.uuid), ("Bridge-B-Unique-ID", peer.uuid)])
        self.sw.calls[ch.uuid] = (peer.uuid, time.time())

    def _unbridge_event(self, ch, peer):
        ch.fire("CHANNEL_UNBRIDGE", pre=[("Bridge-A-Unique-ID", ch.uuid), ("Bridge-B-Unique-ID", peer.uuid)])
        self.sw.calls.pop(ch.uuid, None)

    def _link(self, ch, peer, ch_other_type):
        ch.other_leg, ch.other_type = peer, ch_other_type
        peer.other_leg = ch
        ch.bridged, peer.bridged = peer, ch
        ch.bridged_at = peer.bridged_at = time.time()
        ch.vars["bridge_uuid"] = peer.uuid
        peer.vars["bridge_uuid"] = ch.uuid
        ch.vars["signal_bond"] = peer.uuid
        peer.vars["signal_bond"] = ch.uuid
        # switch_ivr_bridge.c sets SWITCH_LAST_BRIDGE_VARIABLE on both legs; nothing clears it
        ch.vars["last_bridge_to"] = peer.uuid
        peer.vars["last_bridge_to"] = ch.uuid

    def _unlink(self, ch, peer):
        if ch.bridged is peer:
            ch.bridged = None
        if peer.bridged is ch:
            peer.post("unbridge", ch)
        self.sw.notify()

    def exchange_media(self, ch):
        """Session of a leg originated by `bridge`: it only carries media until the bridge ends."""
        if ch.state != "CS_EXCHANGE_MEDIA":
            ch.set_state("CS_EXCHANGE_MEDIA")
        try:
            while True:
                ch.wait()
        except Unbridged:
            pass
        except Transfer:
            # uuid_transfer of a bridged B leg takes it out of the bridge: its partner sees the
            # bridge end (and then follows its own after-bridge variables), as in FreeSWITCH
            peer = ch.bridged
            ch.bridged = None
            if peer is not None and peer.bridged is ch:
                peer.post("unbridge", ch)
            self.sw.notify()
            raise
        if ch.vars.get("park_after_bridge", "false") == "true":
            ch.set_state("CS_EXECUTE")
            ch.execute("park")

    def soft_bridge(self, ch, peer, role):
        """uuid_bridge as each of its two channels lives it (s03): a reports CHANNEL_BRIDGE, b only
        moves to CS_EXCHANGE_MEDIA; when it ends both go back to CS_EXECUTE and resume their apps."""
        for st in ("CS_HIBERNATE", "CS_RESET", "CS_SOFT_EXECUTE"):
            ch.set_state(st)
        post = [("Application", "uuid_bridge"), ("Application-Data", peer.uuid),
                ("Application-UUID", str(uuidlib.uuid4()))]
        ch.fire("CHANNEL_EXECUTE", post=post)
        if not peer.alive:
            ch.set_state("CS_EXECUTE")
            return
        if role == "a":
            self._link(ch, peer, "originatee")
            self._bridge_event(ch, peer)
        else:
            ch.bridged = peer
            ch.other_leg, ch.other_type = peer, "originator"
            # switch_ivr_multi_threaded_bridge sets the peer to CS_CONSUME_MEDIA, sends it
            # INDICATE_BRIDGE, then sets CS_EXCHANGE_MEDIA. An intercepted caller, whose thread is
            # still unwinding its own bridge attempt, reports the first state too (s05); an idle
            # peer only the second (s03 parked, s06 the valet retriever). A race in the real
            # switch; this is what the recordings showed.
            if ch.intercepted:
                ch.set_state("CS_CONSUME_MEDIA")
            ch.set_state("CS_EXCHANGE_MEDIA")
        self.sw.notify()
        try:
            while True:
                ch.wait()
        except Unbridged:
            pass
        finally:
            if ch.bridged is peer:
                ch.bridged = None
                if peer.bridged is ch:
                    peer.post("unbridge", ch)
            if role == "a":
                self._unbridge_event(ch, peer)
            self.sw.notify()
        ch.set_state("CS_EXECUTE")
        # switch_ivr_bridge.c (audio_bridge_on_exchange_media): park_after_bridge, then
        # transfer_after_bridge ("exten[:dialplan[:context]]"), before anything else
        if ch.vars.get("park_after_bridge", "false") == "true":
            ch.execute("park")
        elif ch.vars.get("transfer_after_bridge") and ch.alive:
            exten, _, rest = ch.vars["transfer_after_bridge"].partition(":")
            dialplan, _, context = rest.partition(":")
            if dialplan == "inline":
                raise Transfer(None, inline_apps=parse_inline(exten))
            raise Transfer(exten, dialplan or "XML", context or ch.context)

    def uuid_bridge(self, a, b):
        a.other_leg, a.other_type = b, "originatee"
        b.other_leg, b.other_type = a, "originator"
        a.post("uuid_bridge", b, "a")
        b.post("uuid_bridge", a, "b")

    def intercept(self, ch, data):
        target = self.sw.find(data.strip().split()[-1] if data.strip() else "")
        if target is None:
            return
        # intercepting the ringing leg means taking over the call of whoever it rings for
        if not target.is_answered and target.other_leg is not None and target.other_type == "originator":
            target = target.other_leg
        ringing = [c for c in self.sw.channels() if c.other_leg is target and c.other_type == "originator"
                   and not c.is_answered and c.alive]
        # switch_ivr_intercept_session (switch_ivr_bridge.c): the intercepting channel's
        # intercept_unanswered_only / intercept_unbridged_only refuse such a target
        if _true(self.sw.variable(ch, "intercept_unanswered_only")) and target.is_answered:
            return
        if _true(self.sw.variable(ch, "intercept_unbridged_only")) and target.bridged is not None:
            return
        ch.answer()
        target.answer()
        for c in ringing:
            c.hangup("PICKED_OFF")
        target.other_leg, target.other_type = ch, "originator"
        ch.other_leg, ch.other_type = target, "originatee"
        target.intercepted = True                   # CF_INTERCEPTED
        target.post("uuid_bridge", ch, "b")
        ch.pending_bridge = (target, "a")

    # -- voicemail / conference ----------------------------------------------------------------
    def voicemail(self, ch, data):
        ch.answer()
        args = data.split()
        box = args[-1] if args else ""
        if not self.sw.voicemail_phrases:
            # mod_voicemail on a switch that cannot play its phrase macros (s11's): the greeting
            # fails, TRY_CODE jumps to the end, the goodbye fails as well, and the app returns
            # without media or message (after 100 ms in s11); the dialplan goes on
            ch.wait(timeout=0.1)
            return
        self.playback(ch, "voicemail/vm-greeting-%s.wav" % box)
        self.playback(ch, "tone_stream://%(500,0,1000)")
        ch.playing = ("recording", box)
        ch.fire("RECORD_START", post=[("Record-File-Path", "voicemail/%s.wav" % box)])
        try:
            while True:
                ch.wait()
        finally:
            ch.playing = None
            ch.fire("RECORD_STOP", post=[("Record-File-Path", "voicemail/%s.wav" % box)])
            self.sw.voicemails.append((box, ch.cid_num))

    def conference(self, ch, data):
        ch.answer()
        name, _, profile = data.strip().partition("@")
        room = self.sw.conferences.room(name, profile.split("+")[0] or "default")
        m = room.join(ch)
        ch.playing = ("conference", name)
        self.sw.notify()
        try:
            if not ch.wait(timeout=0.02):
                room.take_floor(m)
            while True:
                ch.wait()
        finally:
            ch.playing = None
            room.leave(m)

    # -- DTMF --------------------------------------------------------------------------------
    def bind_meta_app(self, ch, data):
        parts = data.split(None, 3)
        if len(parts) < 4:
            return
        key, listen, flags, rest = parts
        app, _, arg = rest.partition("::")
        ch.meta_bindings[key] = (listen, flags, app, arg)

    # -- record / play_and_get_digits -----------------------------------------------------------
    RATE = 8000
    FRAME = 0.02        # 20 ms packets, as a PCMU/L16 8 kHz call reads them

    @staticmethod
    def _talking(ch):
        """Is someone speaking into `ch`? The simulator has no audio: a phone "speaks" by
        having audio played into its handset (tests/livephones.py LivePhone.speak broadcasts a
        tone to the handset; loopback carries what is written to one leg to the other's read),
        or a sim Phone sets `speaking`."""
        peer = ch.loopback_peer
        if peer is not None and peer.alive and peer.playing is not None \
                and peer.playing[0] in ("tone", "prompt", "music"):
            return True
        return bool(getattr(ch, "speaking", False))

    def _voice(self, n, t0):
        return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * (t0 + i) / self.RATE)))
                        for i in range(n))

    def record(self, ch, data):
        """mod_dptools.c record_function -> switch_ivr_record_file_event (switch_ivr_play_say.c):
        `record <path> [<limit secs>] [<silence thresh>] [<silence hits secs>]`. The file is
        opened for writing first (a failure hangs the call up with DESTINATION_OUT_OF_ORDER, no
        directory is made); RECORD_START (Record-File-Path); then frames are written until the
        caller hangs up, a playback terminator (`playback_terminators`, default "*", via
        mod_dptools' on_dtmf, sets playback_terminator_used), uuid_break, the limit passed
        (`now - start > limit`, whole seconds) or `silence hits` seconds below the threshold
        (silence_hits_exhausted=true). Then record_seconds / record_ms / record_samples and
        RECORD_STOP, whatever ended it. Written audio: a 440 Hz tone while the caller "speaks"
        (see _talking), silence otherwise; 8 kHz 16-bit mono WAV, as mod_sndfile writes."""
        args = data.split()
        if not args:
            return
        path = args[0]
        limit = int(args[1]) if len(args) > 1 and args[1].isdigit() else 0
        thresh = int(args[2]) if len(args) > 2 and args[2].isdigit() else 0
        hits = int(args[3]) if len(args) > 3 and args[3].isdigit() else 0
        if not ch.is_answered and ch.answer_state != "early":
            ch.pre_answer()
        try:
            out = wave.open(path, "wb")
        except OSError:
            ch.hangup("DESTINATION_OUT_OF_ORDER")
            raise Hangup()
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(self.RATE)
        ch.vars["silence_hits_exhausted"] = "false"
        terminators = ch.vars.get("playback_terminators", "*")
        terminators = "" if terminators == "none" else (
            "1234567890*#" if terminators == "any" else terminators)
        keys = ch.collecting = self._take_pending(ch)
        prev = ch.playing
        ch.playing = ("recording", path)
        ch.fire("RECORD_START", post=[("Record-File-Path", path)])
        self.sw.notify()
        start = time.monotonic()
        written = 0
        silent_for = 0.0
        last = start
        try:
            while True:
                try:
                    ch.wait(timeout=self.FRAME, breakable=True, until=lambda: bool(keys))
                except Break:
                    break
                now = time.monotonic()
                n = int(round((now - last) * self.RATE))
                last = now
                talking = self._talking(ch)
                out.writeframes(self._voice(n, written) if talking else b"\0\0" * n)
                written += n
                if keys:
                    key = keys.pop(0)
                    if key in terminators:
                        ch.vars["playback_terminator_used"] = key
                        break
                if limit and int(now - start) > limit:
                    break
                if thresh:
                    silent_for = 0.0 if talking else silent_for + n / self.RATE
                    if silent_for >= (hits or 3):
                        ch.vars["silence_hits_exhausted"] = "true"
                        break
        finally:
            ch.collecting = None
            self._unread(ch, keys)
            out.close()
            ch.playing = prev
            ch.vars["record_seconds"] = str(written // self.RATE)
            ch.vars["record_ms"] = str(written // (self.RATE // 1000))
            ch.vars["record_samples"] = str(written)
            ch.fire("RECORD_STOP", post=[("Record-File-Path", path)])
            self.sw.notify()

    def play_and_get_digits(self, ch, data):
        """mod_dptools.c play_and_get_digits_function -> switch_play_and_get_digits
        (switch_ivr_play_say.c): `<min> <max> <tries> <timeout ms> <terminators> <file>
        <invalid file> <var> <regexp> [<digit timeout ms>] [<failure ext>...]`. Each try plays
        `file` (a key ends it and counts as the first digit), then collects digits until `max`,
        a terminator (not kept) or a timeout (first digit: `timeout`, later ones: `digit
        timeout`, default `timeout`); input of at least `min` digits matching `regexp` is set in
        `var` and ends it; otherwise `<var>_invalid` gets the input, `invalid file` plays and the
        next try starts. After the last try `var` is left unset (FreeSWITCH 1.10 clears it)."""
        args = data.split()
        if len(args) < 9:
            return
        try:
            lo, hi, tries, timeout = int(args[0]), int(args[1]), int(args[2]), int(args[3]) / 1000.0
        except ValueError:
            return
        terminators, prompt, invalid, var, regexp = args[4:9]
        digit_timeout = timeout
        if len(args) > 9 and args[9].isdigit():
            digit_timeout = int(args[9]) / 1000.0
        terminators = "" if terminators == "none" else terminators
        ch.vars.pop(var, None)
        if not ch.is_answered and ch.answer_state != "early":
            ch.pre_answer()
        for _ in range(max(1, tries)):
            keys = ch.collecting = self._take_pending(ch)
            try:
                self.playback(ch, prompt)
                got, term = "", None
                wait = timeout
                while len(got) < hi:
                    if not keys and not ch.wait(timeout=wait, until=lambda: bool(keys)):
                        break
                    key = keys.pop(0)
                    if key in terminators:
                        term = key
                        break
                    got += key
                    wait = digit_timeout
            finally:
                ch.collecting = None
                self._unread(ch, keys)
            if term:
                ch.vars["read_terminator_used"] = term
            if len(got) >= lo and re.fullmatch(regexp, got or "") and got:
                ch.vars[var] = got
                return
            ch.vars[var + "_invalid"] = got
            if invalid:
                self.playback(ch, invalid)

    @staticmethod
    def _unread(ch, keys):
        """Keys an application did not read stay queued on the channel for the next one
        (switch_ivr_collect_digits_count dequeues one digit at a time, up to the terminator)."""
        if keys:
            ch.__dict__["pending_dtmf"] = list(keys) + ch.__dict__.get("pending_dtmf", [])

    @staticmethod
    def _take_pending(ch):
        pending = ch.__dict__.pop("pending_dtmf", None) or []
        return list(pending)

    def on_dtmf(self, ch, digits, process=True):
        """Digits received on `ch`. A phone's keys (`process`) reach the receive hooks
        (bind_meta_app); digits queued by uuid_recv_dtmf without "~" carry
        DTMF_FLAG_SKIP_PROCESS: they are only dequeued (the DTMF event; a bridge sends them on
        to the peer's endpoint, which the simulator does not model) and run no meta app."""
        for d in digits:
            ch.fire("DTMF", post=[("DTMF-Digit", d), ("DTMF-Duration", "2000"), ("DTMF-Source", "APP")])
            if not process:
                continue
            if not ch.meta_bindings and ch.bridged is None:
                # not in a bridge (where keys go to meta apps and the peer): queued
                # switch_channel_queue_dtmf: keys wait on the channel until an application reads
                # them (record, play_and_get_digits, playback's on_dtmf callback)
                collecting = getattr(ch, "collecting", None)
                if collecting is None:
                    collecting = ch.__dict__.setdefault("pending_dtmf", [])
                collecting.append(d)
                continue
            pending = getattr(ch, "meta_pending", False)
            if d == "*" and not pending:
                ch.meta_pending = True
                continue
            ch.meta_pending = False
            if pending:
                self._meta(ch, d)

    def _meta(self, pressed_on, key):
        candidates = [(pressed_on, "a")]
        if pressed_on.bridged is not None:
            candidates.append((pressed_on.bridged, "b"))
        for owner, side in candidates:
            binding = owner.meta_bindings.get(key)
            if binding is None or side not in binding[0]:
                continue
            _listen, flags, app, arg = binding
            targets = []
            if "s" in flags or "b" in flags:
                targets.append(pressed_on)
            if "o" in flags or "b" in flags:
                if pressed_on.bridged is not None:
                    targets.append(pressed_on.bridged)
            for t in targets or [pressed_on]:
                if t is pressed_on:
                    t.handle(("execute", app, arg, None, None), False)
                else:
                    t.post("execute", app, arg, None, None)
            return

    def on_channel_gone(self, ch):
        for a, (b, _) in list(self.sw.calls.items()):
            if ch.uuid in (a, b):
                self.sw.calls.pop(a, None)
