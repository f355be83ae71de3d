"""One call as a voicemail flow drives it: play a prompt, read keys, record, hang up — each an
application run on the channel by `sendmsg`, waited for by its CHANNEL_EXECUTE_COMPLETE (whose
variables carry what the application set: the keys read, record_ms)."""

from __future__ import annotations

import logging

from ..esl import ChannelGone, EslError

log = logging.getLogger("fscontrol.voicemail")


class CallGone(Exception):
    """The caller hung up (or the switch went away) while the flow ran."""


class Session:
    def __init__(self, esl, uuid: str):
        self.esl = esl
        self.uuid = uuid

    def _run(self, app: str, arg: str | None, timeout: float):
        try:
            return self.esl.sendmsg(self.uuid, app, arg, timeout=timeout).wait(timeout)
        except (ChannelGone, EslError) as e:
            raise CallGone(f"{app}: {e}") from None

    @property
    def alive(self) -> bool:
        return self.uuid in self.esl.registry

    def play(self, path: str, timeout: float = 120.0) -> None:
        self._run("playback", path, timeout)

    def say_number(self, language: str, number: str) -> None:
        """Digits one by one (mod_say: `say <lang> number iterated <n>`); needs the language's
        digit files on the switch, so it is used only when the config asks for it."""
        if number.isdigit():
            self._run("say", f"{language} number iterated {number}", 60.0)

    def digits(self, prompt: str, *, max_digits: int = 1, min_digits: int = 1,
               timeout_ms: int = 5000, terminators: str = "#", invalid: str = "silence_stream://250",
               regexp: str = "[0-9*#]+", var: str = "fscontrol_vm_digits") -> str:
        """play_and_get_digits, one try (retries and lockout are ours to count): the keys the
        caller pressed ("" for none / invalid)."""
        arg = (f"{min_digits} {max_digits} 1 {timeout_ms} {terminators} {prompt} {invalid} "
               f"{var} {regexp} {timeout_ms}")
        event = self._run("play_and_get_digits", arg, timeout_ms / 1000.0 + 600.0)
        return event.var(var) or ""

    def record(self, path: str, limit: int, threshold: int, silence: int) -> tuple[object, int]:
        """`record` into `path` (the switch writes it): (the EXECUTE_COMPLETE event, record_ms).
        A caller who hangs up while recording still leaves what was recorded."""
        try:
            event = self.esl.sendmsg(self.uuid, "record", f"{path} {limit} {threshold} {silence}",
                                     timeout=limit + 60).wait(limit + 60)
        except (ChannelGone, EslError) as e:
            log.info("voicemail: record on %s ended without its completion: %s", self.uuid, e)
            return None, -1
        try:
            ms = int(event.var("record_ms") or -1)
        except ValueError:
            ms = -1
        return event, ms

    def hangup(self) -> None:
        try:
            self.esl.hangup(self.uuid)
        except EslError:
            pass
