"""Voicemail's logic. `Mailboxes`: what the CLI and the API do to boxes and messages (PIN, unlock,
list, mark read, delete), with no switch needed. `VoicemailService`: the call flows the
controller runs on the switch (leave a message, dial-in access), MWI and the email queue."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from struct import error as struct_error
from datetime import datetime, timedelta, timezone
from pathlib import Path

import gevent
import gevent.event

from .. import metrics
from ..flows import Flows, users_domain
from . import mailer
from .errors import (AudioGone, GreetingNotSet, GreetingRefused, UnknownBox, UnknownMessage,
                     VoicemailError, VoicemailStoreUnavailable)
from .mwi import Mwi, account_box
from .pins import check_new_pin, check_pin, hash_pin
from .session import CallGone, Session
from .store import Box, Message, VoicemailStore

log = logging.getLogger("fscontrol.voicemail")

# what a channel of ours runs while a flow drives it (the flow's applications, or park between)
_FLOW_APPS = frozenset({"park", "playback", "play_and_get_digits", "record", "say"})
_ACTIONS = ("voicemail_leave", "voicemail_check", "voicemail_pilot")


def now() -> datetime:
    return datetime.now(timezone.utc)


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(65536), b""):
            h.update(block)
    return h.hexdigest()


class Mailboxes:
    """Boxes and messages of one switch, as an operator or a user changes them."""

    def __init__(self, config, database, on_change=None):
        self.config = config
        self.v = config.voicemail
        self.store = VoicemailStore(database, config.switch.identity)
        self.on_change = on_change or (lambda box, kind, message: None)

    def sync_boxes(self) -> None:
        self.store.ensure_boxes({u.extension: u.email for u in self.config.users},
                                self.v.keep_local_copy)

    def require(self, box: str) -> Box:
        if not any(u.extension == box for u in self.config.users):
            raise UnknownBox(f"no mailbox {box}: not a users[].extension", "box")
        found = self.store.box(box)
        if found is None:
            self.sync_boxes()
            found = self.store.require(box)
        return found

    # -- PINs ----------------------------------------------------------------------------------
    def set_pin(self, box: str, pin: str, *, check_history: bool = True) -> None:
        """A new PIN under the site's policy (history included unless an admin resets it)."""
        self.require(box)
        history = self.store.pin_history(box, self.v.pin_history) if check_history else []
        check_new_pin(pin, box, self.v.pin_min_length, history)
        self.store.set_pin(box, hash_pin(pin), self.v.pin_history)
        log.info("voicemail: PIN of box %s changed", box)

    def unlock(self, box: str) -> None:
        self.require(box)
        self.store.unlock(box)
        log.info("voicemail: box %s unlocked", box)

    def logon(self, box: str, pin: str) -> tuple[str, Box]:
        """("ok" | "bad" | "reset" | "locked" | "no_pin", box): one PIN attempt, counted across
        calls. At voicemail.pin_reset_after failures in a row the PIN is reset to a random one,
        mailed to the box's address when it has one (Exchange's LogonFailuresBeforePINReset);
        at voicemail.pin_lock_after the box is locked until `fscontrol voicemail unlock`."""
        b = self.require(box)
        if b.locked:
            return "locked", b
        if not b.pin_hash:
            return "no_pin", b
        if check_pin(pin, b.pin_hash):
            self.store.logon_ok(box)
            return "ok", b
        b = self.store.logon_failed(box, self.v.pin_lock_after)
        metrics_count("logon_failed")
        if b.locked:
            log.warning("voicemail: box %s locked after %d failed logons", box, b.failures)
            return "locked", b
        if b.failures % self.v.pin_reset_after == 0:
            self._reset_pin(b)
            return "reset", b
        return "bad", b

    def _reset_pin(self, b: Box) -> None:
        while True:
            pin = "".join(secrets.choice("0123456789") for _ in range(self.v.pin_min_length))
            try:
                check_new_pin(pin, b.box, self.v.pin_min_length, [])
                break
            except VoicemailError:
                continue
        failures = b.failures
        self.store.set_pin(b.box, hash_pin(pin), self.v.pin_history, must_change=True)
        # set_pin starts the count again; the lockout counts on across the reset
        self.store.set_failures(b.box, failures)
        log.warning("voicemail: PIN of box %s reset after %d failed logons%s", b.box, failures,
                    " (new PIN mailed)" if b.email else " (no email: an admin must set one)")
        self.on_change(b.box, "pin_reset", pin)

    # -- messages ------------------------------------------------------------------------------
    def messages(self, box: str | None = None, include_deleted: bool = False) -> list[Message]:
        if box is not None:
            self.require(box)
        states = ("new", "saved", "deleted") if include_deleted else ("new", "saved")
        return self.store.messages(box, states)

    def message(self, message_id: int, box: str | None = None) -> Message:
        m = self.store.message(message_id)
        if m is None or (box is not None and m.box != box):
            raise UnknownMessage(f"no message {message_id}" + (f" in box {box}" if box else ""), "id")
        return m

    def audio_path(self, message_id: int, box: str | None = None) -> str:
        m = self.message(message_id, box)
        if m.kind != "message" or not m.path or not os.path.exists(m.path):
            raise AudioGone(f"message {message_id} has no local audio (mailed and not kept, "
                            f"or a missed call)", "id")
        return m.path

    def set_state(self, message_id: int, state: str, box: str | None = None) -> Message:
        m = self.message(message_id, box)
        if self.store.set_state(message_id, state):
            m = self.store.message(message_id)
            self.on_change(m.box, "updated", m)
        return m

    def delete(self, message_id: int, box: str | None = None) -> Message:
        """Gone for good: the row and the local copy (the CLI and the API; by phone a message
        is only marked deleted until the call ends, so it can be undeleted)."""
        m = self.message(message_id, box)
        gone = self.store.remove(message_id)
        if gone is not None and gone.path:
            try:
                os.remove(gone.path)
            except FileNotFoundError:
                pass
        self.on_change(m.box, "deleted", m)
        return m

    # -- greetings -----------------------------------------------------------------------------
    def greeting(self, box: str) -> dict:
        """What a caller leaving a message hears: the box's own greeting (recorded by phone or
        uploaded) or the default, `voicemail.prompt_greeting`."""
        path = self._greeting_file(self.require(box))
        if path is None:
            return {"box": box, "custom": False, "duration_ms": None, "sample_rate": None,
                    "sha256": None, "default": self.v.prompt_greeting}
        info = wav_info(path)
        return {"box": box, "custom": True, "duration_ms": info and info[2],
                "sample_rate": info and info[1], "sha256": sha256_of(path), "default": None}

    def greeting_path(self, box: str) -> str:
        path = self._greeting_file(self.require(box))
        if path is None:
            raise GreetingNotSet(f"box {box} plays the default greeting (no audio of its own)", "user")
        return path

    @staticmethod
    def _greeting_file(b: Box) -> str | None:
        return b.greeting if b.greeting and os.path.exists(b.greeting) else None

    def upload_greeting(self, box: str, data: bytes) -> dict:
        """A WAV as the switch records one (PCM 16-bit mono, 8 or 16 kHz, 1 s to max_greeting),
        stored where the phone's `5` puts a greeting: the leave flow plays it from then on."""
        self.require(box)
        check_greeting_wav(data, self.v.max_greeting)
        directory = Path(self.v.storage) / box
        directory.mkdir(parents=True, exist_ok=True)
        stamp = int(now().timestamp())
        path = str((directory / f"greeting-{stamp}-{secrets.token_hex(4)}.wav").absolute())
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)
        old = self.store.box(box).greeting
        self.store.set_greeting(box, path)
        if old and old != path:
            self._remove_own(box, old)
        log.info("voicemail: greeting of box %s uploaded (%d bytes)", box, len(data))
        return self.greeting(box)

    def _remove_own(self, box: str, path: str) -> None:
        """A former greeting file, if it is one of the box's own (in its storage directory)."""
        own = (Path(self.v.storage) / box).absolute()
        if Path(path).absolute().parent == own:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    def clear_greeting(self, box: str) -> dict:
        """Back to the default greeting; the box's own file is deleted."""
        old = self.require(box).greeting
        self.store.set_greeting(box, None)
        if old:
            self._remove_own(box, old)
        log.info("voicemail: greeting of box %s back to the default", box)
        return self.greeting(box)


def wav_info(path: str) -> tuple[int, int, int] | None:
    """(channels, sample rate, duration ms) of a PCM WAV, None if it is not one."""
    import wave
    try:
        with wave.open(path, "rb") as w:
            rate = w.getframerate() or 8000
            return w.getnchannels(), rate, int(w.getnframes() * 1000 / rate)
    except (wave.Error, EOFError, OSError):
        return None


def check_greeting_wav(data: bytes, max_seconds: int) -> None:
    """An uploaded greeting must be what the switch records and plays untranscoded: a RIFF WAVE
    of PCM samples, 16-bit, mono, 8000 or 16000 Hz, 1 s to voicemail.max_greeting long."""
    import io
    import wave
    if not data:
        raise GreetingRefused("audio: the request body is empty (send the WAV file as the body, "
                              "Content-Type audio/wav)", "audio")
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            channels, width, rate, frames = (w.getnchannels(), w.getsampwidth(), w.getframerate(),
                                             w.getnframes())
    except (wave.Error, EOFError, ValueError, struct_error) as e:
        raise GreetingRefused(f"audio: not a PCM WAV file ({e})", "audio") from None
    if channels != 1:
        raise GreetingRefused(f"audio.channels: {channels} channels, a greeting must be mono",
                              "audio.channels")
    if width != 2:
        raise GreetingRefused(f"audio.sample_width: {width * 8}-bit samples, a greeting must be "
                              f"16-bit PCM", "audio.sample_width")
    if rate not in (8000, 16000):
        raise GreetingRefused(f"audio.sample_rate: {rate} Hz, a greeting must be 8000 or 16000 Hz",
                              "audio.sample_rate")
    if frames * 2 > len(data):
        raise GreetingRefused(f"audio: the WAV header claims {frames} samples but the file holds "
                              f"fewer (truncated upload?)", "audio")
    ms = int(frames * 1000 / rate)
    if ms < 1000:
        raise GreetingRefused(f"audio.duration: {ms} ms, a greeting must be at least 1 s",
                              "audio.duration")
    if ms > max_seconds * 1000:
        raise GreetingRefused(f"audio.duration: {ms / 1000:.1f} s, longer than voicemail."
                              f"max_greeting ({max_seconds} s)", "audio.duration")


def metrics_count(what: str) -> None:
    metrics.voicemail_events.labels(what).inc()


class VoicemailService(Mailboxes):
    """The flows on the switch. Handlers hand each call to `spawn`; nothing here blocks them."""

    def __init__(self, config, database, esl, bus=None):
        super().__init__(config, database, on_change=self._changed)
        self.esl = esl
        self.bus = bus
        self.mwi = Mwi(esl)
        self.flows = Flows(log, "voicemail", (CallGone, VoicemailError))
        self.domain = ""
        self.handling: set[str] = set()
        self._wake = gevent.event.Event()
        self._mailer: gevent.Greenlet | None = None
        self.storage = Path(self.v.storage)
        self.deliveries = 0   # SMTP conversations finished (any outcome): tests wait on it

    # -- plumbing ------------------------------------------------------------------------------
    def spawn(self, fn, *args):
        return self.flows.spawn(fn, *args)

    def start(self) -> None:
        try:
            self.sync_boxes()
        except VoicemailStoreUnavailable as e:
            log.error("voicemail: mailboxes not synchronised, database unavailable: %s", e)
        if self.config.smtp.host and self._mailer is None:
            self._mailer = gevent.spawn(self._mail_loop)

    def stop(self) -> None:
        self.flows.kill_all()
        self.store.close()
        if self._mailer is not None:
            self._mailer.kill(block=False)
            self._mailer = None

    def resolve_domain(self) -> str:
        self.domain = users_domain(self.config, self.esl, log, "voicemail")
        return self.domain

    def claim(self, uuid: str) -> bool:
        if uuid in self.handling:
            return False
        self.handling.add(uuid)
        return True

    def _changed(self, box: str, kind: str, payload) -> None:
        """Every change of a box's messages: MWI with the new counts, the live event stream."""
        if kind == "pin_reset":
            self._mail_pin(box, payload)
            return
        self.notify_mwi(box)
        if self.bus is not None and isinstance(payload, Message):
            try:
                self.bus.publish(f"voicemail_{kind}", payload.to_dict(), [box])
            except Exception:   # the event stream is best effort; the change is done
                log.exception("voicemail: %s event of box %s not published", kind, box)

    def notify_mwi(self, box: str) -> None:
        try:
            new, saved = self.store.counts(box)
        except VoicemailStoreUnavailable as e:
            log.warning("voicemail: MWI of %s not updated, database unavailable: %s", box, e)
            return
        self.mwi.send(box, self.domain or self.resolve_domain(), new, saved)

    def on_connect(self) -> None:
        """After every (re)connect: the lamps of every box again (a switch that restarted, or
        phones that subscribed while we were away, have none)."""
        self.resolve_domain()
        try:
            boxes = self.store.boxes()
        except VoicemailStoreUnavailable as e:
            log.warning("voicemail: MWI not re-sent, database unavailable: %s", e)
            return
        for b in boxes:
            self.notify_mwi(b.box)
        self.resume_unhandled()

    def resume_unhandled(self) -> None:
        """Calls our dialplan sent to voicemail that were waiting in park when we (re)connected
        and that no flow of this process handles (their CHANNEL_PARK came while the switch was
        unreachable, or their flow died with the connection): their flow starts again — a
        caller leaving a message hears the greeting again, one in the menus logs on again."""
        from ..esl import EslError
        from ..render import contract
        registry = self.esl.registry
        for uuid, app in list(registry.at_connect.items()):
            ch = registry.get(uuid)
            if ch is None or app not in _FLOW_APPS or ch.application not in _FLOW_APPS \
                    or uuid in self.handling:
                continue
            try:
                action = self.esl.uuid_getvar(uuid, contract.VAR_ACTION)
                box = self.esl.uuid_getvar(uuid, contract.VAR_BOX)
            except EslError:
                continue
            if action not in _ACTIONS or not self.claim(uuid):
                continue
            try:   # what a dead flow left running (a prompt, a recording nobody will store)
                self.esl.uuid_break(uuid, all=True)
            except EslError:
                pass
            if action == contract.ACTION_VOICEMAIL_LEAVE:
                log.warning("voicemail: %s waits for box %s unhandled; greeting it now", uuid, box)
                self.spawn(self.leave, uuid, box or "")
            else:
                own = ch.caller_id_number if action == contract.ACTION_VOICEMAIL_CHECK else None
                if own and not any(u.extension == own for u in self.config.users):
                    own = None
                log.warning("voicemail: %s waits in the voicemail menu unhandled; starting it", uuid)
                self.spawn(self.check, uuid, own)

    def message_query(self, account: str) -> None:
        box, _ = account_box(account)
        if any(u.extension == box for u in self.config.users):
            self.notify_mwi(box)

    # -- leaving a message ---------------------------------------------------------------------
    def leave(self, uuid: str, box: str) -> None:
        try:
            self._leave(uuid, box)
        finally:
            self.handling.discard(uuid)
            if uuid in self.esl.registry:     # whatever happened, nobody is left in park
                Session(self.esl, uuid).hangup()

    def _leave(self, uuid: str, box: str) -> None:
        call = Session(self.esl, uuid)
        ch = self.esl.registry.get(uuid)
        caller_number = (ch.caller_id_number or "") if ch else ""
        caller_name = (ch.caller_id_name or "") if ch else ""
        try:
            b = self.require(box)
        except UnknownBox:
            log.warning("voicemail: call %s for box %s: no such mailbox", uuid, box)
            call.play(self.v.prompt_goodbye)
            call.hangup()
            return
        directory = self.storage / box
        directory.mkdir(parents=True, exist_ok=True)
        path = str((directory / f"{int(now().timestamp())}-{uuid}.wav").absolute())
        recorded_ms = -1
        try:
            greeting = b.greeting if b.greeting and os.path.exists(b.greeting) else self.v.prompt_greeting
            call.play(greeting)
            call.play(self.v.prompt_beep)
            _, recorded_ms = call.record(path, self.v.max_message, self.v.silence_threshold,
                                         self.v.silence_seconds)
        except CallGone:
            pass   # hung up during the greeting: a missed call
        if recorded_ms < 0 and os.path.exists(path):
            recorded_ms = wav_ms(path)
        too_short = recorded_ms < self.v.min_message * 1000
        if too_short:
            if os.path.exists(path):
                os.remove(path)
            self._add(box, "missed", caller_number, caller_name, max(0, recorded_ms), None, uuid, b)
            log.info("voicemail: %s left no message for %s (%d ms): missed call", caller_number,
                     box, max(0, recorded_ms))
        else:
            self._add(box, "message", caller_number, caller_name, recorded_ms, path, uuid, b)
            log.info("voicemail: message of %d ms from %s for %s", recorded_ms, caller_number, box)
        if call.alive:
            call.hangup()

    def _add(self, box, kind, number, name, ms, path, uuid, b: Box) -> Message | None:
        mail = bool(b.email and self.config.smtp.host)
        digest = sha256_of(path) if path else None
        try:
            m = self.store.add_message(box, kind, number, name, ms, path, digest, uuid, mail)
        except VoicemailStoreUnavailable as e:
            # the caller is done: hang up now, keep the recording, store the row when the
            # database answers again (a few minutes of backoff, then it is logged as lost)
            log.error("voicemail: %s for %s not stored yet, database unavailable: %s", kind, box, e)
            Session(self.esl, uuid).hangup()
            self.spawn(self._add_later, box, kind, number, name, ms, path, digest, uuid, mail)
            return None
        self._added(m, mail)
        return m

    def _add_later(self, box, kind, number, name, ms, path, digest, uuid, mail, tries=10) -> None:
        for attempt in range(tries):
            gevent.sleep(min(30.0, 0.5 * 2 ** attempt))
            try:
                m = self.store.add_message(box, kind, number, name, ms, path, digest, uuid, mail)
            except VoicemailStoreUnavailable:
                continue
            log.info("voicemail: %s for %s stored after the database came back", kind, box)
            self._added(m, mail)
            return
        log.error("voicemail: %s for %s from %s LOST: the database never answered (the "
                  "recording stays at %s)", kind, box, number or "unknown", path or "-")

    def _added(self, m: Message, mail: bool) -> None:
        box, kind = m.box, m.kind
        metrics_count(kind)
        if kind == "message":
            self._changed(box, "created", m)
        elif self.bus is not None:
            self.bus.publish("voicemail_created", m.to_dict(), [box])
        if mail:
            self._wake.set()

    # -- dial-in access ------------------------------------------------------------------------
    def check(self, uuid: str, box: str | None) -> None:
        """`*98` (`box`: the caller's own) or the pilot number (`box` None: asked first)."""
        try:
            from .access import Access
            Access(self, Session(self.esl, uuid)).run(box)
        finally:
            self.handling.discard(uuid)

    # -- email ---------------------------------------------------------------------------------
    def _mail_pin(self, box: str, pin: str) -> None:
        b = self.store.box(box)
        if not (b and b.email and self.config.smtp.host):
            return
        from email.message import EmailMessage
        mail = EmailMessage()
        mail["From"] = self.config.smtp.sender
        mail["To"] = b.email
        mail["Subject"] = f"Your voicemail PIN for box {box} was reset"
        mail.set_content(f"After {self.v.pin_reset_after} failed logons the PIN of voicemail box "
                         f"{box} was reset.\nYour new PIN: {pin}\nYou will be asked to change it "
                         f"at your next logon.\n")
        self.spawn(mailer.deliver, self.config.smtp, mail)

    def _mail_loop(self) -> None:
        """The durable queue: rows with email_state 'queued' whose time has come, oldest first;
        after a restart it picks up where the last process stopped (a row claimed by a process
        that died is due again a minute later)."""
        failures = 0
        while True:
            try:
                due = self.store.claim_due()
                for m in due:
                    self._deliver(m)
                failures = 0
                nxt = self.store.next_due() if not due else now()
                wait = 30.0 if nxt is None else max(0.0, min(30.0, (nxt - now()).total_seconds()))
            except VoicemailStoreUnavailable as e:
                failures += 1
                wait = min(30.0, 0.5 * 2 ** failures)
                log.warning("voicemail: email queue waits for the database (%s); %.1fs", e, wait)
            except Exception:
                log.exception("voicemail: email queue error")
                wait = 5.0
            if wait > 0:
                self._wake.wait(wait)
            self._wake.clear()

    def retry_delay(self, attempts: int) -> float:
        s = self.config.smtp
        return float(min(s.retry_max, s.retry_first * 2 ** max(0, attempts)))

    def _deliver(self, m: Message) -> None:
        b = self.store.box(m.box)
        if b is None or not b.email:
            self.store.email_failed(m.id, "no email address for the box")
            return
        audio = None
        if m.kind == "message":
            try:
                with open(m.path or "", "rb") as f:
                    audio = f.read()
            except OSError as e:
                self.store.email_failed(m.id, f"local copy unreadable: {e.strerror or e}")
                return
        outcome = mailer.deliver(self.config.smtp, mailer.compose(self.config, m, b.email, audio))
        self.deliveries += 1
        if outcome.result == "sent":
            drop = m.kind == "message" and not b.keep_local_copy
            self.store.email_sent(m.id, outcome.reply, drop_path=drop)
            if drop and m.path:
                try:
                    os.remove(m.path)
                except FileNotFoundError:
                    pass
            log.info("voicemail: message %d of %s mailed: %s", m.id, m.box, outcome.reply)
        elif outcome.result == "retry" and now() - m.received_at < timedelta(
                seconds=self.config.smtp.give_up_after):
            delay = self.retry_delay(m.email_attempts)
            self.store.email_retry(m.id, outcome.reply, delay)
            log.warning("voicemail: message %d of %s not mailed (%s); retrying in %.0fs",
                        m.id, m.box, outcome.reply, delay)
        else:
            self.store.email_failed(m.id, outcome.reply)
            log.error("voicemail: message %d of %s not mailed: %s", m.id, m.box, outcome.reply)
        if self.bus is not None:
            updated = self.store.message(m.id)
            if updated is not None:
                self.bus.publish("voicemail_updated", updated.to_dict(), [m.box])


def wav_ms(path: str) -> int:
    import wave
    try:
        with wave.open(path, "rb") as w:
            return int(w.getnframes() * 1000 / (w.getframerate() or 8000))
    except (wave.Error, EOFError, OSError):
        return 0
