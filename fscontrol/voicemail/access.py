"""Dial-in access (Outlook Voice Access class) on one call: which box (pilot number only), PIN
logon under the lockout rules, new then saved messages with their envelope, and per message
1 replay, 2 save, 7 delete (8 right after: undelete), # skip; then the main menu: 1 listen again,
5 record the greeting, 6 change the PIN, anything else goodbye. Messages deleted by phone are
marked deleted and purged when the call ends. Every prompt is a configurable file or tone."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

from .errors import UnknownBox, VoicemailError
from .session import CallGone

log = logging.getLogger("fscontrol.voicemail")

LOGON_TRIES = 3       # per call; the lockout counts across calls in the database
KEY_WAIT_MS = 5000


class Access:
    def __init__(self, service, call):
        self.svc = service
        self.v = service.v
        self.call = call
        self.deleted: list[int] = []

    def run(self, box: str | None) -> None:
        try:
            box = box if box else self._ask_box()
            if box and self._logon(box):
                self._menu(box)
                self.call.play(self.v.prompt_goodbye)
        except CallGone:
            pass
        finally:
            self._purge()
            if self.call.alive:
                self.call.hangup()

    # -- logon ---------------------------------------------------------------------------------
    def _ask_box(self) -> str | None:
        for _ in range(LOGON_TRIES):
            box = self.call.digits(self.v.prompt_box, max_digits=9, min_digits=2,
                                   timeout_ms=KEY_WAIT_MS, regexp="[0-9]+")
            if box and any(u.extension == box for u in self.svc.config.users):
                return box
            self.call.play(self.v.prompt_bad_pin)
        return None

    def _logon(self, box: str) -> bool:
        try:
            self.svc.require(box)
        except UnknownBox:
            return False
        for _ in range(LOGON_TRIES):
            pin = self.call.digits(self.v.prompt_pin, max_digits=24, min_digits=1,
                                   timeout_ms=KEY_WAIT_MS, regexp="[0-9]+")
            result, b = self.svc.logon(box, pin)
            log.info("voicemail: logon to %s: %s", box, result)
            if result == "ok":
                if b.pin_must_change:
                    return self._change_pin(box, required=True)
                return True
            if result in ("locked", "no_pin"):
                self.call.play(self.v.prompt_locked)
                return False
            self.call.play(self.v.prompt_bad_pin)   # "bad" or "reset" (the new PIN is mailed)
        return False

    def _change_pin(self, box: str, required: bool = False) -> bool:
        for _ in range(LOGON_TRIES):
            first = self.call.digits(self.v.prompt_new_pin, max_digits=24, min_digits=1,
                                     timeout_ms=KEY_WAIT_MS, regexp="[0-9]+")
            again = self.call.digits(self.v.prompt_new_pin, max_digits=24, min_digits=1,
                                     timeout_ms=KEY_WAIT_MS, regexp="[0-9]+") if first else ""
            if first and first == again:
                try:
                    self.svc.set_pin(box, first)
                    self.call.play(self.v.prompt_pin_changed)
                    return True
                except VoicemailError as e:
                    log.info("voicemail: new PIN of %s refused: %s", box, e)
            self.call.play(self.v.prompt_bad_pin)
        return not required

    # -- messages ------------------------------------------------------------------------------
    def _menu(self, box: str) -> None:
        self._listen(box)
        while True:
            key = self.call.digits(self.v.prompt_menu, timeout_ms=KEY_WAIT_MS)
            if key == "1":
                self._listen(box)
            elif key == "5":
                self._record_greeting(box)
            elif key == "6":
                self._change_pin(box)
            else:
                return

    def _listen(self, box: str) -> None:
        messages = self.svc.store.messages(box, ("new",), ("message",)) + \
            self.svc.store.messages(box, ("saved",), ("message",))
        for m in messages:
            if m.id in self.deleted:
                continue
            if not self._one(m):
                return
        self.call.play(self.v.prompt_no_more)

    def _one(self, m) -> bool:
        """Play one message and act on its keys; False when the caller hung up or chose out."""
        while True:
            self.call.play(self.v.prompt_message)
            if self.v.envelope and m.caller_number.isdigit():
                self.call.say_number(self.v.say_language, m.caller_number)
            audio = m.path if m.path and os.path.exists(m.path) else "silence_stream://500"
            key = self.call.digits(audio, timeout_ms=100, invalid="silence_stream://10")
            if not key:
                key = self.call.digits(self.v.prompt_menu, timeout_ms=KEY_WAIT_MS)
            if key == "1":
                continue
            if key == "2":
                self.svc.set_state(m.id, "saved")
                return True
            if key == "7":
                previous = m.state
                self.svc.set_state(m.id, "deleted")
                self.deleted.append(m.id)
                undo = self.call.digits(self.v.prompt_menu, timeout_ms=KEY_WAIT_MS)
                if undo == "8":
                    self.svc.set_state(m.id, previous)
                    self.deleted.remove(m.id)
                return True
            if key == "#" or not key:
                return True
            if key == "*":
                return False

    def _record_greeting(self, box: str) -> None:
        directory = self.svc.storage / box
        directory.mkdir(parents=True, exist_ok=True)
        stamp = int(datetime.now(timezone.utc).timestamp())
        path = str((directory / f"greeting-{stamp}.wav").absolute())
        self.call.play(self.v.prompt_beep)
        _, ms = self.call.record(path, self.v.max_greeting, self.v.silence_threshold,
                                 self.v.silence_seconds)
        if ms >= 1000 and os.path.exists(path):
            old = self.svc.store.box(box).greeting
            self.svc.store.set_greeting(box, path)
            if old and old != path and os.path.exists(old):
                os.remove(old)
            self.call.play(path)
        else:
            if os.path.exists(path):
                os.remove(path)
            self.call.play(self.v.prompt_bad_pin)

    def _purge(self) -> None:
        """Messages deleted by phone are gone once the call ends (undelete was possible until
        then)."""
        for message_id in self.deleted:
            try:
                m = self.svc.store.message(message_id)
                if m is not None and m.state == "deleted":
                    self.svc.delete(message_id)
            except VoicemailError as e:
                log.warning("voicemail: deleted message %d not purged: %s", message_id, e)
