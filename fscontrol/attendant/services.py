"""The auto attendant's call flow: the rendered dialplan answers a call to an attendant number
and parks it; the controller decides the menu (schedule.py, on an injected clock) and runs it
over the event socket with `play_and_get_digits`, then puts the call through (uuid_transfer),
plays an announcement, sends it to voicemail, or, after `retries` failed inputs, to the
operator or away.

One greenlet per call (fscontrol.flows). Every read is one `play_and_get_digits` with one try:
the controller counts failures itself, so timeouts, unknown keys and unknown extensions share
one retry count. A read reports its outcome in the variables of its CHANNEL_EXECUTE_COMPLETE:
`fscontrol_attendant_input` holds the digits (the switch clears it first); with none, # alone
was pressed when `read_terminator_used` is "#" (the switch never clears it, so the controller
unsets it before each read) or `read_result` is "success" (a # that was the only key to read is
dropped without being recorded as the terminator), and nothing was pressed otherwise
(switch_ivr_read in switch_ivr_play_say.c).
"""

from __future__ import annotations

import logging
import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone

from .. import metrics
from ..esl import ChannelGone, EslError
from ..flows import Flows, users_domain
from .directory import Directory
from .errors import AttendantError, CallerGone
from .schedule import Schedule
from .states import ALLOWED, AttendantCall, State

log = logging.getLogger("fscontrol.attendant")

INPUT_VAR = "fscontrol_attendant_input"
# what play_and_get_digits plays after a failed try; the controller plays its own prompts
SILENT_INVALID = "silence_stream://100"
# longest a greeting or an announcement may take before the controller stops waiting for it
MEDIA_WAIT = 600.0
# playback_terminators naming every key ("any" is newer than some 1.10 builds' on_dtmf)
ALL_KEYS = "1234567890*#"
_GLOBAL = re.compile(r"\$\$\{([A-Za-z0-9_]+)\}")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Input:
    """What one read got: `digits` (without the terminator), or `pound` (# alone), or neither
    (nothing pressed before the timeout)."""

    digits: str = ""
    pound: bool = False

    @property
    def timed_out(self) -> bool:
        return not self.digits and not self.pound


class AttendantService:
    """Runs auto attendant menus. `clock` returns the current instant (an aware datetime); tests
    freeze it, the schedule is decided on it at each call. `voicemail(uuid, box)` sends a call
    to a mailbox (the park service's `send_to_voicemail`)."""

    def __init__(self, config, esl, clock=None, voicemail=None):
        self.config = config
        self.voicemail = voicemail   # (uuid, box) -> None: park's voicemail path, when it runs
        self.prompts = config.attendant
        self.esl = esl
        self.clock = clock or utc_now
        self.attendants = {a.number: a for a in config.attendants}
        self.schedules = {a.number: Schedule(a) for a in config.attendants}
        self.users = {u.extension for u in config.users}
        self.directory = Directory(config.users)
        self.longest_extension = max((len(e) for e in self.users), default=1)
        self.flows = Flows(log, "attendant", (AttendantError,))
        self.handling: set[str] = set()
        self.calls: dict[str, AttendantCall] = {}   # calls in a menu now, by channel uuid
        self.finished: deque[AttendantCall] = deque(maxlen=100)   # the last calls that left
        self._globals: dict[str, str] = {}
        self.domain = ""

    # -- plumbing --------------------------------------------------------------------------
    def spawn(self, fn, *args):
        return self.flows.spawn(fn, *args)

    def stop(self) -> None:
        self.flows.kill_all()

    def claim(self, uuid: str) -> bool:
        if uuid in self.handling:
            return False
        self.handling.add(uuid)
        return True

    def sound(self, path: str) -> str:
        """`path` with each `$${name}` filled in from the switch's global variables (asked once)."""
        def fill(m):
            name = m.group(1)
            if name not in self._globals:
                try:
                    self._globals[name] = self.esl.global_getvar(name)
                except EslError as e:
                    raise AttendantError(f"could not ask the switch for $${{{name}}}: {e}") from None
            return self._globals[name]
        return _GLOBAL.sub(fill, path)

    # -- the flow --------------------------------------------------------------------------
    def answer_call(self, uuid: str, number: str) -> None:
        """A call waits in park at attendant `number`: run its menu until the call leaves. A
        menu that cannot go on (the switch refused a transfer) ends with the goodbye prompt and
        a hang-up: a call is never left waiting in park with no menu."""
        try:
            self._run(uuid, number)
        except (CallerGone, ChannelGone):
            self._left(uuid, State.HUNG_UP)
        except AttendantError as e:
            log.error("attendant %s: %s; disconnecting the call", number, e)
            self._left(uuid, State.DISCONNECTED, reason="error")
            try:
                self._play(uuid, self.prompts.prompt_goodbye)
                self.esl.hangup(uuid)
            except (AttendantError, EslError):
                pass
        finally:
            self.handling.discard(uuid)
            call = self.calls.pop(uuid, None)
            if call is not None:
                self.finished.append(call)

    def _left(self, uuid: str, to: State, **details) -> None:
        """The call left the attendant: its last transition, counted in the outcome metric."""
        call = self.calls.get(uuid)
        if call is None or call.state.terminal:
            return
        if to not in ALLOWED.get(call.state, ()):   # e.g. hung up while an announcement played
            to = State.HUNG_UP if to is State.HUNG_UP else State.DISCONNECTED
        call.transition(to, **details)
        outcome = "error" if details.get("reason") == "error" else to.value
        metrics.attendant_outcomes.labels(call.attendant, outcome).inc()

    def _run(self, uuid: str, number: str) -> None:
        att = self.attendants[number]
        kind, menu = self._decide(uuid, att)
        call = self.calls[uuid] = AttendantCall(uuid, att.number, kind, self.clock())
        while not call.state.terminal:
            got = self._read(uuid, att, menu.greeting, self._menu_digits(menu))
            outcome = self._act(call, att, menu, got)
            if isinstance(outcome, str) and outcome.startswith("attendant:"):
                att = self.attendants[outcome.split(":", 1)[1]]
                kind, menu = self._decide(uuid, att)
                call.transition(State.MENU, attendant=att.number, menu=kind)
                call.attendant, call.menu, call.failures = att.number, kind, 0
            elif outcome == "failed":
                call.failures += 1
                if call.failures >= att.retries:
                    self._give_up(call, att)
                    return
                if not got.timed_out:
                    self._play(uuid, self.prompts.prompt_invalid)
                if call.state is not State.MENU:
                    call.transition(State.MENU, failures=call.failures)
            # "again": the menu once more (after an announcement, or * to hear it again)

    def _decide(self, uuid: str, att):
        decision = self.schedules[att.number].decide(self.clock())
        metrics.attendant_calls.labels(att.number, decision.kind).inc()
        log.info("attendant %s: %s menu for %s (%s%s)", att.number, decision.kind, uuid,
                 decision.local.strftime("%a %Y-%m-%d %H:%M %Z"),
                 f", holiday {decision.holiday}" if decision.holiday else "")
        return decision.kind, decision.menu

    def _menu_digits(self, menu) -> int:
        return self.longest_extension if menu.dial_by_extension == "direct" else 1

    def _act(self, call: AttendantCall, att, menu, got: Input) -> str:
        """What the caller's input at a menu does: "done" (the call left the attendant),
        "again", "failed" (a failed input), or "attendant:<number>" (that one's menu next)."""
        uuid = call.uuid
        if got.timed_out:
            return "failed"
        if got.pound:
            if menu.dial_by_extension == "off":
                return "failed"
            return self._dial_by_extension(call)
        keys = dict(menu.keys)
        d = got.digits
        if len(d) == 1:
            if d == "0":
                return self._to_operator(call, att) if att.operator else "failed"
            if d == menu.dial_by_name:
                return self._dial_by_name(call)
            if d == "*":
                return "again"
            if d in keys:
                return self._key_action(call, att, keys[d])
            return "failed"
        if menu.dial_by_extension == "direct" and d in self.users:
            return self._put_through(call, d)
        log.info("attendant %s: %s dialled %r, not a user", att.number, uuid, d)
        return "failed"

    def _key_action(self, call: AttendantCall, att, action: str) -> str:
        kind, _, arg = action.partition(":")
        if kind == "extension":
            return self._put_through(call, arg)
        if kind == "attendant":
            return action
        if kind == "announcement":
            call.transition(State.ANNOUNCEMENT, file=arg)
            self._play(call.uuid, arg)
            call.transition(State.MENU)
            return "again"
        if kind == "voicemail":
            return self._to_voicemail(call, arg)
        if action == "operator":
            return self._to_operator(call, att)
        raise AttendantError(f"attendant {att.number}: unknown key action {action!r}")

    def _dial_by_extension(self, call: AttendantCall) -> str:
        call.transition(State.EXTENSION)
        att = self.attendants[call.attendant]
        got = self._read(call.uuid, att, self.prompts.prompt_extension, self.longest_extension)
        if got.digits in self.users:
            return self._put_through(call, got.digits)
        if not got.timed_out:
            log.info("attendant %s: %s dialled %r, not a user", att.number, call.uuid, got.digits)
        return "failed"

    def _dial_by_name(self, call: AttendantCall) -> str:
        call.transition(State.NAME)
        att = self.attendants[call.attendant]
        got = self._read(call.uuid, att, self.prompts.prompt_name, 10)
        found = self.directory.matches(got.digits)
        log.info("attendant %s: %s name keys %r match %s", att.number, call.uuid, got.digits,
                 [ext for ext, _ in found] or "nobody")
        if not found:
            return "failed"
        if len(found) == 1:
            return self._put_through(call, found[0][0], announce=True)
        choices = found[:9]
        call.transition(State.CHOOSING, among=",".join(ext for ext, _ in choices))
        pick = self._offer(call.uuid, choices) or self._read(call.uuid, att, "silence", 1).digits
        if pick.isdigit() and 1 <= int(pick) <= len(choices):
            return self._put_through(call, choices[int(pick) - 1][0], announce=True)
        return "failed"

    def _offer(self, uuid: str, choices) -> str:
        """"Press 1 for 1004, 2 for 1005": the choice prompt, the number and the extension,
        said one after the other. A key pressed meanwhile ends the list and is the choice: with
        every key a playback terminator, mod_dptools' on_dtmf stops the playback or say and
        keeps the key in playback_terminator_used (otherwise it drops the key)."""
        self._setvar(uuid, "playback_terminators", ALL_KEYS)
        try:
            for n, (ext, _name) in enumerate(choices, 1):
                for part in (lambda: self._play(uuid, self.prompts.prompt_choice),
                             lambda: self._say(uuid, str(n)), lambda: self._say(uuid, ext)):
                    pressed = part()
                    if pressed:
                        return pressed
            return ""
        finally:
            self._setvar(uuid, "playback_terminators", None)

    # -- what the caller hears and where the call goes ------------------------------------------
    def _read(self, uuid: str, att, prompt: str, max_digits: int) -> Input:
        """One play_and_get_digits: `prompt` (a key ends it), then up to `max_digits` keys, #
        ending them early; the first key within `att.timeout`, each next within
        `att.digit_timeout_ms` (mod_dptools.c play_and_get_digits_function argument order)."""
        prompt = "silence" if prompt == "silence" else self.sound(prompt)
        args = " ".join(str(a) for a in (0, max_digits, 1, att.timeout * 1000, "#", prompt,
                                         SILENT_INVALID, INPUT_VAR, ".+", att.digit_timeout_ms))
        # the switch sets read_terminator_used when # ends a read but never clears it: a stale
        # one would make the next timeout look like # (and, with min 0, end it early)
        self._setvar(uuid, "read_terminator_used", None)
        event = self._execute(uuid, "play_and_get_digits", args)
        digits = event.var(INPUT_VAR) or ""
        # "#" alone: it ended the read (read_terminator_used), or, with one key to read, it was
        # that key and switch_ivr_read dropped it (no terminator recorded, read_result success)
        pound = not digits and (event.var("read_terminator_used") == "#"
                                or event.var("read_result") == "success")
        return Input(digits, pound=pound)

    def _execute(self, uuid: str, app: str, arg: str):
        try:
            return self.esl.sendmsg(uuid, app, arg, timeout=MEDIA_WAIT).wait(MEDIA_WAIT)
        except ChannelGone:
            raise CallerGone(uuid) from None
        except EslError as e:
            if uuid not in self.esl.registry:
                raise CallerGone(uuid) from None
            raise AttendantError(f"{app} on {uuid}: {e}") from None

    def _play(self, uuid: str, path: str) -> str:
        """Play `path`; the key that ended it (a playback terminator), or ""."""
        event = self._execute(uuid, "playback", self.sound(path))
        return event.var("playback_terminator_used") or ""

    def _say(self, uuid: str, digits: str) -> str:
        """`say <lang> number iterated <digits>`: one digit file each, as park says orbits."""
        event = self._execute(uuid, "say", f"{self.prompts.say_language} number iterated {digits}")
        return event.var("playback_terminator_used") or ""

    def _setvar(self, uuid: str, name: str, value) -> None:
        try:
            self.esl.uuid_setvar(uuid, name, value)
        except EslError as e:
            if uuid not in self.esl.registry:
                raise CallerGone(uuid) from None
            log.warning("attendant: setvar %s on %s: %s", name, uuid, e)

    def _put_through(self, call: AttendantCall, extension: str, announce: bool = False) -> str:
        """To a user's extension in the users' context (their call handling, voicemail on no
        answer, applies as to any call); `announce`: say the extension first."""
        self._play(call.uuid, self.prompts.prompt_transfer)
        if announce:
            self._say(call.uuid, extension)
        self._transfer(call.uuid, extension)
        self._left(call.uuid, State.PUT_THROUGH, extension=extension)
        return "done"

    def _to_operator(self, call: AttendantCall, att, reason: str = "") -> str:
        self._play(call.uuid, self.prompts.prompt_transfer)
        self._transfer(call.uuid, att.operator)
        self._left(call.uuid, State.OPERATOR, extension=att.operator, reason=reason)
        return "done"

    def _transfer(self, uuid: str, extension: str) -> None:
        try:
            self.esl.uuid_transfer(uuid, extension, "XML", self.config.switch.context)
        except EslError as e:
            if uuid not in self.esl.registry:
                raise CallerGone(uuid) from None
            raise AttendantError(f"transfer of {uuid} to {extension}: {e}") from None

    def _to_voicemail(self, call: AttendantCall, box: str) -> str:
        """The box's voicemail by the path park's `voicemail:<box>` fallback takes (the park
        service's, when Call Park runs beside the attendant as in `fscontrol run`; else the same
        transfer to mod_voicemail that fallback makes without fscontrol's voicemail)."""
        uuid = call.uuid
        try:
            if self.voicemail is not None:
                self.voicemail(uuid, box)
            else:
                domain = self.domain or users_domain(self.config, self.esl, log, "attendant")
                self.domain = domain
                self.esl.uuid_transfer_inline(uuid, ["answer", ("voicemail",
                                                                f"default {domain} {box}")])
        except EslError as e:
            if uuid not in self.esl.registry:
                raise CallerGone(uuid) from None
            raise AttendantError(f"voicemail transfer of {uuid} to {box}: {e}") from None
        self._left(uuid, State.VOICEMAIL, box=box)
        return "done"

    def _give_up(self, call: AttendantCall, att) -> None:
        """`retries` failed inputs: the operator, or the goodbye prompt and a hang-up."""
        if att.on_failure == "operator" and att.operator:
            self._to_operator(call, att, reason=f"{call.failures} failed inputs")
            return
        self._play(call.uuid, self.prompts.prompt_goodbye)
        try:
            self.esl.hangup(call.uuid)
        except EslError:
            pass
        self._left(call.uuid, State.DISCONNECTED, reason=f"{call.failures} failed inputs")

    # -- (re)connect --------------------------------------------------------------------------
    def on_connect(self) -> None:
        """Calls that waited in park at an attendant number when the controller (re)connected
        have no menu running (their flow died with the connection): start one for each."""
        registry = self.esl.registry
        for uuid, app in list(registry.at_connect.items()):
            ch = registry.get(uuid)
            if ch is None or app != "park" or ch.state != "CS_EXECUTE":
                continue
            number = ch.destination_number or ""
            if number in self.attendants and self.claim(uuid):
                log.warning("attendant: %s waits at %s with no menu running; starting it", uuid, number)
                self.spawn(self.answer_call, uuid, number)
