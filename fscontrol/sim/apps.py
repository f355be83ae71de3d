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


def _atoi(text):
    """C's atoi: the leading digits (with a sign), 0 when there are none."""
    m = re.match(r"\s*([+-]?\d+)", text or "")
    return int(m.group(1)) if m else 0


def _playback_terminators(ch):
    """mod_dptools.c on_dtmf: the keys that end a playback."""
    terms = ch.vars.get("playback_terminators", ch.sw.globals.get("playback_terminators", "*"))
    if terms.lower() == "any":
        return "1234567890*#"
    if terms.lower() == "none":
        return ""
    return terms


def _regex_match(text, pattern):
    """switch_regex_match (switch_regex.c): PCRE search of `pattern` in `text`."""
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


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
            "park": self.park, "playback": self.playback_app, "endless_playback": self.endless_playback,
            "sleep": self.sleep, "set": self.set, "export": self.export, "unset": self.unset,
            "bridge": self.bridge, "transfer": self.transfer, "hangup": self.hangup,
            "respond": self.respond, "intercept": self.intercept, "voicemail": self.voicemail,
            "conference": self.conference, "bind_meta_app": self.bind_meta_app,
            "execute_extension": self.execute_extension, "say": self.say, "log": self.noop,
            "info": self.noop, "event": self.event, "multiset": self.multiset,
            "playback_terminators": self.noop, "hold": self.noop, "unhold": self.noop,
            "send_display": self.noop, "sched_hangup": self.noop, "record_session": self.noop,
            "valet_park": lambda ch, data: self.sw.valet.park(ch, data),
            "play_and_get_digits": self.play_and_get_digits, "record": self.record,
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
            try:      # a real file (a recorded message or greeting): as long as it is
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

    def playback_app(self, ch, data):
        """mod_dptools.c playback_function: switch_ivr_play_file with its on_dtmf callback."""
        self.playback(ch, data, on_dtmf=True)

    def playback(self, ch, data, forever=False, on_dtmf=False):
        """switch_ivr_play_file. `on_dtmf`: mod_dptools' on_dtmf input callback (playback,
        say): each key is taken out of the queue; one in `playback_terminators` (unset: "*";
        "any": every key; "none": none) ends the file and is kept in
        playback_terminator_used, the others are dropped."""
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
        queue = ch.dtmf_queue
        if on_dtmf:
            ch.vars.pop("playback_terminator_used", None)
            ch.dtmf_queue = []
        try:
            duration = None if forever else self._duration(path)
            deadline = None if duration is None else time.monotonic() + duration
            while True:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not on_dtmf:
                    ch.wait(timeout=remaining, breakable=True)
                    break
                if not ch.wait(timeout=remaining, until=lambda: bool(ch.dtmf_queue), breakable=True):
                    break
                key = ch.dtmf_queue.pop(0)
                if key in _playback_terminators(ch):
                    ch.vars["playback_terminator_used"] = key
                    status = "break"
                    break
        except Break:
            status = "break"
        except Transfer:
            status, resp = "break", "PLAYBACK ERROR"
            raise
        finally:
            ch.dtmf_queue = queue
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
                self.playback(ch, "file_string://" + "!".join(files), on_dtmf=True)
                return
        self.playback(ch, "say:" + data, on_dtmf=True)

    # -- record ------------------------------------------------------------------------------
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
            raw = open(path, "wb")
        except OSError:
            ch.hangup("DESTINATION_OUT_OF_ORDER")
            raise Hangup()
        out = wave.open(raw, "wb")
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(self.RATE)
        ch.vars["silence_hits_exhausted"] = "false"
        ch.vars.pop("playback_terminator_used", None)
        terminators = _playback_terminators(ch)
        queue, ch.dtmf_queue = ch.dtmf_queue, []       # record reads keys (its on_dtmf)
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
                    ch.wait(timeout=self.FRAME, breakable=True, until=lambda: bool(ch.dtmf_queue))
                except Break:
                    break
                now = time.monotonic()
                n = int(round((now - last) * self.RATE))
                last = now
                talking = self._talking(ch)
                out.writeframes(self._voice(n, written) if talking else b"\0\0" * n)
                written += n
                while ch.dtmf_queue:      # every key is taken; a terminator ends it
                    key = ch.dtmf_queue.pop(0)
                    if key in terminators:
                        ch.vars["playback_terminator_used"] = key
                        break
                if ch.vars.get("playback_terminator_used"):
                    break
                if limit and int(now - start) > limit:
                    break
                if thresh:
                    silent_for = 0.0 if talking else silent_for + n / self.RATE
                    if silent_for >= (hits or 3):
                        ch.vars["silence_hits_exhausted"] = "true"
                        break
        finally:
            ch.dtmf_queue = queue
            out.close()
            raw.close()
            ch.playing = prev
            ch.vars["record_seconds"] = str(written // self.RATE)
            ch.vars["record_ms"] = str(written // (self.RATE // 1000))
            ch.vars["record_samples"] = str(written)
            ch.fire("RECORD_STOP", post=[("Record-File-Path", path)])
            self.sw.notify()

    # -- reading digits ----------------------------------------------------------------------
    # Digits reach a channel's queue (on_dtmf); only an application that reads them takes them
    # out. Outside such a reader the simulator drops them, as switch_ivr_park does (it dequeues
    # and discards DTMF when it runs without input args: switch_ivr.c), which is where a channel
    # driven over the event socket waits between two sendmsg executes.

    def play_and_get_digits(self, ch, data):
        """mod_dptools.c play_and_get_digits_function -> switch_play_and_get_digits
        (switch_ivr_play_say.c): `min max tries timeout terminators prompt invalid_prompt var
        regex digit_timeout transfer_on_failure`, split on spaces; timeout raised to 1000 ms,
        terminators "#" when empty. Each try is one switch_ivr_read; a try that reads nothing
        or fails `regex` (then `<var>_invalid` holds the digits) plays the invalid prompt
        (args NULL: it takes no digits). min 0 and only a terminator: success at once."""
        argv = data.split(" ")[:11]
        num = lambda i, default=0: _atoi(argv[i]) if len(argv) > i else default  # noqa: E731
        min_digits, max_digits, tries = max(0, num(0)), num(1), num(2)
        timeout = max(1000, num(3, 1000))
        terminators = (argv[4] if len(argv) > 4 else "") or "#"
        prompt = argv[5] if len(argv) > 5 else ""
        invalid = argv[6] if len(argv) > 6 else ""
        var = argv[7] if len(argv) > 7 else ""
        regex = argv[8] if len(argv) > 8 else ""
        digit_timeout = num(9)
        on_failure = argv[10] if len(argv) > 10 else ""
        max_digits = max(max_digits, min_digits)
        if regex and var:
            ch.vars.pop(var + "_invalid", None)
        ch.dtmf_queue = []
        try:
            while ch.alive and tries > 0:
                status, buf = self._read(ch, min_digits, max_digits, prompt, var, timeout,
                                         terminators, digit_timeout)
                if status == "timeout" and len(buf) >= min_digits:
                    status = "success"
                if min_digits == 0 and not buf and ch.vars.get("read_terminator_used"):
                    return
                if status == "success" and buf:
                    if not regex:
                        return
                    if _regex_match(buf, regex):
                        return
                    ch.vars.pop(var, None)
                    if var:
                        ch.vars[var + "_invalid"] = buf
                if not ch.alive:
                    break
                self._play_ignoring_dtmf(ch, invalid)
                tries -= 1
            if on_failure and ch.alive:
                parts = on_failure.split(" ")
                raise Transfer(parts[0], parts[1] if len(parts) > 1 else "XML",
                               parts[2] if len(parts) > 2 else ch.context)
        finally:
            ch.dtmf_queue = None

    def _read(self, ch, min_digits, max_digits, prompt, var, timeout, terminators, digit_timeout):
        """switch_ivr_read (switch_ivr_play_say.c): the first key pressed during the prompt ends
        it and is the first digit, whatever it is (switch_ivr_play_file copies it to args->buf);
        then switch_ivr_collect_digits_count. Sets read_result, read_terminator_used (only
        when a terminator ended the input: it is never cleared) and `var` (cleared first)."""
        term_required = terminators.startswith("=")
        digit_timeout = digit_timeout or timeout
        ch.vars.pop("read_result", None)
        if var:
            ch.vars.pop(var, None)
        if not ch.is_answered and ch.answer_state != "early":
            ch.pre_answer()
        buf, status, tb = "", "success", ""
        if prompt and prompt.lower() != "silence":
            first = self._play_for_input(ch, prompt)
            if first:
                buf = first
        if (min_digits and len(buf) < min_digits) or len(buf) < max_digits:
            status, buf, tb = self._collect(ch, buf, max_digits, terminators,
                                            digit_timeout if buf else timeout, digit_timeout)
        if tb:
            ch.vars["read_terminator_used"] = tb
        elif term_required:
            status = "too_small"
        if min_digits and len(buf) < min_digits:
            status = "too_small"
        ch.vars["read_result"] = {"success": "success", "timeout": "timeout"}.get(status, "failure")
        if max_digits == 1 and len(buf) == 1 and buf in terminators:
            buf = ""
        if var and buf:
            ch.vars[var] = buf
        return status, buf

    def _collect(self, ch, buf, max_digits, terminators, first_timeout, digit_timeout):
        """switch_ivr_collect_digits_count (switch_ivr.c): a terminator already in the buffer
        cuts it there; then digits until a terminator, `max_digits`, or a timeout (the first
        one, then `digit_timeout` after each key). Returns (status, digits, terminator)."""
        for i, c in enumerate(buf):
            if c in terminators:
                return "success", buf[:i], c
        wait = first_timeout / 1000.0
        while True:
            if not ch.dtmf_queue:
                if not ch.wait(timeout=wait, until=lambda: bool(ch.dtmf_queue)):
                    return "timeout", buf, ""
            wait = digit_timeout / 1000.0
            while ch.dtmf_queue:
                d = ch.dtmf_queue.pop(0)
                if d in terminators:
                    return "success", buf, d
                buf += d
                if len(buf) >= max_digits:
                    return "success", buf, ""

    def _play_for_input(self, ch, path):
        """A prompt that a key ends (switch_ivr_play_file with args->buf): the key, or ""."""
        prev = ch.playing
        ch.playing = (media_kind(path), path)
        self.sw.notify()
        ch.fire("PLAYBACK_START", post=[("Playback-File-Path", path)])
        status = "done"
        try:
            duration = self._duration(path)
            if ch.wait(timeout=duration, until=lambda: bool(ch.dtmf_queue), breakable=True):
                status = "break"
        except Break:
            status = "break"
        finally:
            ch.playing = prev
            ch.fire("PLAYBACK_STOP", post=[("Playback-File-Path", path), ("Playback-Status", status)])
            self.sw.notify()
        return ch.dtmf_queue.pop(0) if ch.dtmf_queue else ""

    def _play_ignoring_dtmf(self, ch, path):
        """switch_ivr_play_file with no args (the invalid prompt): keys pressed meanwhile stay
        queued for the next try."""
        if path:
            self.playback(ch, path)

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
        """mod_dptools.c intercept_function, "[-bleg] <uuid>", and switch_ivr_intercept_session
        (switch_ivr_bridge.c). The channel taken is <uuid> itself; with -bleg, the one bonded or
        bridged to it (switch_ivr_find_bridged_uuid): intercepting a ringing callee's leg without
        -bleg takes that leg and hangs up its caller, it does not take the caller."""
        args = data.split()
        bleg = bool(args) and args[0].lower() == "-bleg"
        target = self.sw.find((args[1] if len(args) > 1 else "") if bleg else (args[0] if args else ""))
        if target is not None and bleg:
            target = target.bridged or target.other_leg
        if target is None or not target.alive:
            return
        # the intercepting channel's intercept_unanswered_only / intercept_unbridged_only refuse
        # such a target (CF_ANSWERED / CF_BRIDGED on it), before anything is touched
        if _true(self.sw.variable(ch, "intercept_unanswered_only")) and target.is_answered:
            return
        if _true(self.sw.variable(ch, "intercept_unbridged_only")) and target.bridged is not None:
            return
        # its partner (switch_channel_get_partner_uuid) is hung up with PICKED_OFF: the bridged
        # peer; a caller whose bridge still rings: the legs ringing for it (s05); a ringing leg:
        # its caller
        if target.bridged is not None:
            partners = [target.bridged]
        else:
            partners = [c for c in self.sw.channels() if c.other_leg is target
                        and c.other_type == "originator" and not c.is_answered and c.alive]
            if not partners and target.other_type == "originator" and target.other_leg is not None \
                    and target.other_leg.alive:
                partners = [target.other_leg]
        ch.answer()
        target.answer()
        # the target is moved to CS_PARK (CF_TRANSFER: no after-bridge action) and bridged to
        # the interceptor before its partner is hung up
        target.other_leg, target.other_type = ch, "originator"
        ch.other_leg, ch.other_type = target, "originatee"
        target.intercepted = True                   # CF_INTERCEPTED
        target.post("uuid_bridge", ch, "b")
        ch.pending_bridge = (target, "a")
        for c in partners:
            c.hangup("PICKED_OFF")

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

    def on_dtmf(self, ch, digits, process=True):
        """Digits received on `ch`. A phone's keys (`process`) reach the receive hooks
        (bind_meta_app); digits queued by uuid_recv_dtmf without "~" carry
        DTMF_FLAG_SKIP_PROCESS: they are only dequeued (the DTMF event; a bridge sends them on
        to the peer's endpoint, which the simulator does not model) and run no meta app."""
        for d in digits:
            ch.fire("DTMF", post=[("DTMF-Digit", d), ("DTMF-Duration", "2000"), ("DTMF-Source", "APP")])
            hooked = ch.meta_bindings or (ch.bridged is not None and ch.bridged.meta_bindings)
            if not process or not hooked:
                # no bind_meta_app on either leg: no meta hook, every key is a plain digit
                if getattr(ch, "dtmf_queue", None) is not None:
                    ch.dtmf_queue.append(d)
                continue
            pending = getattr(ch, "meta_pending", False)
            if d == "*" and not pending:
                ch.meta_pending = True
                continue
            ch.meta_pending = False
            if pending:
                self._meta(ch, d)
            elif getattr(ch, "dtmf_queue", None) is not None:
                ch.dtmf_queue.append(d)

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
