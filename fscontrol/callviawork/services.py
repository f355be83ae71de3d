"""Call Via Work's logic (Skype for Business's click-to-call, with what it lacks): check the
policy, ring the user's callback device first with the global caller ID, and once it is answered
call the destination with the user's own caller ID and bridge them; every outcome typed, cancel
by id, a call_log row for every leg and state change, metrics.

The call flow, as FreeSWITCH runs it (trace s12 is its shape):
1. `bgapi originate {origination_uuid=<call id>,origination_caller_id_*=<global>,
   ignore_early_media=true,originate_timeout=<user_timeout>,continue_on_fail=true,
   hangup_after_bridge=true,hold_music=...}<device> &park()` — the job answers once the device
   answers (early media is no answer), or with the cause it failed with (trace s04: at once for
   an unregistered user, `-ERR USER_NOT_REGISTERED`, or `DESTINATION_OUT_OF_ORDER` when the
   user's contact cannot be dialled at all);
2. `sendmsg <call id> execute bridge {origination_uuid=<dest leg>,origination_caller_id_*=<user>,
   leg_timeout=<destination_timeout>}<destination>` on the parked, answered leg: the user hears
   the destination ring; CHANNEL_BRIDGE means connected; a bridge that completes without one
   failed with `originate_disposition` (continue_on_fail keeps the user's leg up, so they hear
   the prompt, then are hung up); after a bridge the leg hangs up (hangup_after_bridge).
"""

from __future__ import annotations

import collections
import logging
import re
import time

import gevent

from .. import metrics
from ..esl import ChannelGone, CommandError, CommandTimeout, ConnectionLost, EslError, InvalidArgument
from ..esl.commands import dial_string, expand_dial, is_uuid, new_uuid, operator_dial
from ..flows import Flows, users_domain
from ..park.services import safe_name
from .errors import (CallbackNotAllowed, CallIdInUse, CallNotFound, CallViaWorkDisabled,
                     CallViaWorkError, DestinationNotAllowed, DeviceUnregistered, InvalidCallId,
                     InvalidNumber, InvalidRoom, RateLimited, SwitchUnavailable, UnknownUser)
from .states import (UNREACHABLE, Placement, State, StateMachine, destination_outcome, now,
                     user_outcome)
from .store import CallViaWorkStore

log = logging.getLogger("fscontrol.callviawork")

NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
ROOM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# how long place() waits for the device leg to show it rings (or fail) before it returns: an
# unregistered device fails within milliseconds (s04), a registered one rings at once
EARLY_WINDOW = 3.0
# the variables every leg of a placement carries, so a reader of the switch's events (the call
# tracker, fscontrol.calls.services, which reads these names) knows what the leg is; the user's
# leg also says whom the user is calling before any bridge does
VAR_VIA, VAR_USER, VAR_CALL = "fscontrol_via", "fscontrol_cvw_user", "fscontrol_cvw_call"
VAR_DESTINATION = "fscontrol_destination"
VIA = "call_via_work"
RINGBACK = "%(2000,4000,440,480)"
KEEP_ENDED = 600.0   # seconds an ended placement can still be read by id
ORPHAN_WATCH = 60.0  # seconds a device leg of an originate whose reply never came is looked for


class RateLimiter:
    """At most `limit` calls per user in any 60 seconds (in this controller's memory)."""

    def __init__(self, limit: int, window: float = 60.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._calls: dict[str, collections.deque] = {}

    def take(self, user: str) -> None:
        t = self.clock()
        calls = self._calls.setdefault(user, collections.deque())
        while calls and calls[0] <= t - self.window:
            calls.popleft()
        if len(calls) >= self.limit:
            retry = max(1, int(calls[0] + self.window - t + 0.999))
            raise RateLimited(f"{user} placed {self.limit} calls in the last minute; try again "
                              f"in {retry} s", None, retry_after=retry)
        calls.append(t)


class CallViaWorkService:
    def __init__(self, config, database, esl, listeners=()):
        self.config = config
        self.cvw = config.call_via_work
        self.esl = esl
        self.store = CallViaWorkStore(database, config.switch.identity)
        self.machine = StateMachine(self.store, listeners)
        self.limiter = RateLimiter(self.cvw.rate_limit)
        self.flows = Flows(log, "call via work", (CallViaWorkError,))
        self.placements: dict[str, Placement] = {}
        self.legs: dict[str, str] = {}          # leg uuid -> placement id
        self._patterns = [re.compile(p) for p in self.cvw.destinations]
        self.domain = ""

    def stop(self) -> None:
        self.store.close()
        self.flows.kill_all()

    # -- lookups -------------------------------------------------------------------------
    def get(self, call_id: str) -> Placement | None:
        return self.placements.get(call_id)

    def of_leg(self, uuid: str) -> Placement | None:
        pid = self.legs.get(uuid)
        return self.placements.get(pid) if pid else None

    def user(self, extension: str):
        u = next((u for u in self.config.users if u.extension == extension), None)
        if u is None:
            raise UnknownUser(f"no user {str(extension)[:32]!r} in the configuration", "user")
        return u

    def is_user(self, extension: str) -> bool:
        return any(u.extension == extension for u in self.config.users)

    def resolve_domain(self) -> str:
        d = users_domain(self.config, self.esl, log, "call via work")
        if "${" in d:
            # the switch did not answer (users_domain logged why): ask again at the next call;
            # kept, the variable made every dial string from then on invalid, for good
            raise SwitchUnavailable(f"the switch did not say its users' domain (switch.domain "
                                    f"= {d}); nothing was sent")
        self.domain = d
        return d

    # -- dial strings (built only by fscontrol.esl.commands) -------------------------------
    def user_dial(self, extension: str):
        domain = self.domain or self.resolve_domain()
        return operator_dial(expand_dial(self.config.switch.user_dial_string, ext=extension,
                                         domain=domain, global_var=self.esl.global_getvar))

    def number_dial(self, number: str):
        domain = self.domain or self.resolve_domain()
        return operator_dial(expand_dial(self.cvw.destination_dial_string, number=number,
                                         context=self.config.switch.context, domain=domain,
                                         global_var=self.esl.global_getvar),
                             "call_via_work.destination_dial_string")

    def dial_for(self, number: str):
        """A callback device by number: a configured user's phone (rung directly: the device
        must ring, not the user's voicemail), else the number through destination_dial_string."""
        return self.user_dial(number) if self.is_user(number) else self.number_dial(number)

    def check_number(self, field: str, number) -> str:
        number = str(number if number is not None else "").strip()
        if not NUMBER.fullmatch(number):
            raise InvalidNumber(f"{field}: {number[:40]!r} is not a number (digits, * #, an "
                                f"optional leading +; at most 32)", field)
        if not any(p.fullmatch(number) for p in self._patterns):
            raise DestinationNotAllowed(f"{field}: {number} is not a destination users may call "
                                        f"(call_via_work.destinations)", field)
        return number

    def callback_device(self, user, requested: str | None):
        """(dial string, what the user calls it): a request's own choice only when the policy
        allows it (user_callback), else the admin's users[].callback, else the user's phone."""
        if requested:
            if not self.cvw.user_callback:
                raise CallbackNotAllowed("callback: this site rings the device the administrator "
                                         "set (call_via_work.user_callback = false)", "callback")
            number = self.check_number("callback", requested)
            if self.is_user(number) and number != user.extension:
                # a colleague's phone, rung directly (past their forwarding and voicemail)
                # showing the Call Via Work caller ID that tells them it is *their* own call,
                # and then connected to the destination as the requester
                raise CallbackNotAllowed(f"callback: {number} is another user's phone; a "
                                         f"callback is your own extension or a number",
                                         "callback")
            return self.dial_for(number), number
        cb = user.callback
        if not cb:
            return self.user_dial(user.extension), user.extension
        if "/" in cb:
            domain = self.domain or self.resolve_domain()
            return operator_dial(expand_dial(cb, ext=user.extension, domain=domain),
                                 "users[].callback"), cb
        return self.dial_for(cb), cb

    # -- placing ---------------------------------------------------------------------------
    def _admit(self, user: str, call_id: str | None):
        if not self.cvw.enabled:
            raise CallViaWorkDisabled("call via work is disabled on this site "
                                      "(call_via_work.enabled = false)")
        u = self.user(user)
        if call_id is not None:
            if not isinstance(call_id, str) or not is_uuid(call_id):
                raise InvalidCallId("call_id: not a valid call id (1-128 letters, digits, - _ ., "
                                    "starting with a letter or digit)", "call_id")
            if call_id in self.placements or call_id in self.esl.registry:
                raise CallIdInUse(f"call_id: {call_id} is already in use", "call_id")
        if not self.esl.connected:
            raise SwitchUnavailable("the switch is not connected; nothing was sent")
        return u

    def place(self, user: str, destination: str, *, callback: str | None = None,
              call_id: str | None = None) -> Placement:
        """Ring `user`'s callback device, then `destination`; returns once the device rings (or
        failed). Policy errors and an unreachable device are raised at once."""
        u = self._admit(user, call_id)
        number = self.check_number("destination", destination)
        device, label = self.callback_device(u, callback)
        self.limiter.take(u.extension)
        p = Placement(call_id or new_uuid(), u.extension, number, label)
        return self._ring_user(p, device, self._global_caller_id(),
                               ("park", None), self._call_destination)

    def dial_into_conference(self, room: str, user: str, *, call_id: str | None = None) -> Placement:
        """Ring `user`'s phone (their callback device) and, once answered, join it to the
        mod_conference room `room` (the room's conference::maintenance events follow)."""
        u = self._admit(user, call_id)
        room = str(room or "")
        if not ROOM.fullmatch(room):
            raise InvalidRoom(f"room: {room[:40]!r} is not a conference room name (letters, "
                              f"digits, _ . -; at most 64)", "room")
        device, label = self.callback_device(u, None)
        self.limiter.take(u.extension)
        p = Placement(call_id or new_uuid(), u.extension, f"conference:{room}", label,
                      kind="conference")
        cid = {"origination_caller_id_name": safe_name(f"Conference {room}"),
               "origination_caller_id_number": self.cvw.caller_id_number or room}
        return self._ring_user(p, device, cid,
                               ("conference", f"{room}@{self.cvw.conference_profile}"),
                               self._joined)

    def _global_caller_id(self) -> dict:
        cid = {"origination_caller_id_name": self.cvw.caller_id_name}
        if self.cvw.caller_id_number:
            cid["origination_caller_id_number"] = self.cvw.caller_id_number
        return cid

    def _ring_user(self, p: Placement, device, caller_id: dict, app, then) -> Placement:
        variables = {**caller_id, "ignore_early_media": "true",
                     "originate_timeout": int(self.cvw.user_timeout),
                     "continue_on_fail": "true", "hangup_after_bridge": "true",
                     VAR_VIA: VIA, VAR_USER: p.user, VAR_CALL: p.id}
        if self.cvw.hold_music:
            variables["hold_music"] = self.cvw.hold_music
        if p.kind == "call":
            variables[VAR_DESTINATION] = p.destination
        self.placements[p.id] = p
        self.legs[p.id] = p.id
        # registered before the originate is sent: the device's first events can come before
        # the job's answer (s12)
        shown = self.esl.wait_for(p.id, ("CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA",
                                         "CHANNEL_ANSWER"), EARLY_WINDOW)
        try:
            o = self.esl.originate(device, variables, app=app[0], app_arg=app[1], uuid=p.id)
        except (ConnectionLost, CommandTimeout) as e:
            shown.cancel()
            self._forget(p)
            self._hang_up_if_it_shows(p)
            raise SwitchUnavailable(f"the switch did not take the call: {e}") from None
        except EslError as e:   # InvalidArgument: the config's dial string (checked at load)
            shown.cancel()
            self._forget(p)
            raise SwitchUnavailable(f"the callback device cannot be dialled: {e}") from None
        metrics.calls_placed.inc()
        self.store.log("user_leg", p.id, None, user=p.user, destination=p.destination,
                       call_id=p.id, device=p.device, kind=p.kind, state=p.state.value)
        self.machine.notify(p)
        gevent.wait([o.job, shown], timeout=EARLY_WINDOW, count=1)
        rang = shown.ready() and shown.successful()
        if shown.ready() and not rang:   # the leg is gone already (ChannelGone): its job is due
            gevent.wait([o.job], timeout=EARLY_WINDOW)
        if o.job.ready() and not rang:
            try:
                o.job.get(0)
            except CommandError as e:
                shown.cancel()
                outcome = user_outcome(e.cause)
                self._fail(p, outcome, e.cause)
                if e.cause in UNREACHABLE:
                    what = (f"the phone of {p.user}" if p.device == p.user
                            else f"{p.device}, the callback device of {p.user},")
                    raise DeviceUnregistered(
                        f"{what} cannot be rung: {e.cause}",
                        "callback" if p.device != p.user else "user", cause=e.cause,
                        call_id=p.id) from None
                return p
            except EslError:
                pass
        shown.cancel()
        self.flows.spawn(self._after_ringing, p, o, then)
        return p

    def _hang_up_if_it_shows(self, p: Placement) -> None:
        """The originate's reply was late or lost, yet the switch may have run it: a device leg
        that shows up all the same is hung up (answered, it would sit parked in silence with
        nobody to call the destination); unless the id was placed again meanwhile."""
        def watch():
            deadline = time.monotonic() + ORPHAN_WATCH
            while time.monotonic() < deadline and p.id not in self.placements:
                if self.esl.connected and p.id in self.esl.registry:
                    log.info("call via work %s: the device leg came after all; hung up", p.id)
                    self._kill(p.id, "NORMAL_TEMPORARY_FAILURE")
                    return
                gevent.sleep(0.1)
        self.flows.spawn(watch)

    def _forget(self, p: Placement) -> None:
        self.placements.pop(p.id, None)
        self.legs.pop(p.id, None)

    def _fail(self, p: Placement, outcome: str, cause: str | None, **details) -> bool:
        if p.state.terminal:
            return False
        metrics.calls_failed.labels(reason=outcome).inc()   # counted before anyone sees it end
        self.machine.transition(p, State.FAILED, "failed", outcome=outcome, cause=cause, **details)
        self._expire(p)
        return True

    def _expire(self, p: Placement) -> None:
        """An ended placement stays readable by id for a while, then goes."""
        def drop():
            if self.placements.get(p.id) is p:
                self._forget(p)
                if p.destination_leg:
                    self.legs.pop(p.destination_leg, None)
        self.flows.track(gevent.spawn_later(KEEP_ENDED, drop))

    # -- the flow after the device rings ---------------------------------------------------
    def _after_ringing(self, p: Placement, o, then) -> None:
        try:
            o.wait_answer(self.cvw.user_timeout + 10)
        except CommandError as e:
            if p.state is State.RINGING_USER:
                self._fail(p, user_outcome(e.cause), e.cause)
            return
        except ChannelGone as e:   # the leg ended before its job answered: the job has the cause
            try:
                o.job.get(5)
                cause = e.cause or "NORMAL_CLEARING"
            except CommandError as job_error:
                cause = job_error.cause
            except EslError:
                cause = e.cause or "NORMAL_CLEARING"
            if p.state is State.RINGING_USER:
                self._fail(p, user_outcome(cause), cause)
            return
        except CommandTimeout as e:
            self._kill(p.id, "NO_ANSWER")
            if p.state is State.RINGING_USER:
                self._fail(p, "user_no_answer", "NO_ANSWER", reason=str(e))
            return
        except ConnectionLost as e:
            self._lost(p, str(e))
            return
        if p.state is not State.RINGING_USER:   # cancelled while it rang: the leg is going
            self._kill(p.id, "ORIGINATOR_CANCEL")
            return
        p.answered_at = now()
        then(p)

    def _joined(self, p: Placement) -> None:
        """Conference dial-out: the device answered and its leg runs `conference`."""
        p.connected_at = now()
        self.machine.transition(p, State.CONNECTED, "joined")

    def _call_destination(self, p: Placement) -> None:
        u = self.user(p.user)
        dest = new_uuid()
        variables = {"origination_uuid": dest,
                     "origination_caller_id_name": safe_name(u.name) or u.extension,
                     "origination_caller_id_number": u.extension,
                     "leg_timeout": int(self.cvw.destination_timeout),
                     "originate_timeout": int(self.cvw.destination_timeout),
                     VAR_VIA: VIA, VAR_USER: p.user, VAR_CALL: p.id}
        try:   # always through destination_dial_string: the site's routing decides (a busy
            # colleague's voicemail answers, as for a call dialled from the phone)
            dial = dial_string(self.number_dial(p.destination), variables)
        except (InvalidArgument, SwitchUnavailable) as e:
            self._end_with_prompt(p, "destination_failed", "INVALID_NUMBER_FORMAT", str(e))
            return
        p.destination_leg = dest
        self.legs[dest] = p.id
        if not self.machine.transition(p, State.CALLING_DESTINATION, "destination_leg", leg=dest,
                                       other=p.id):
            return
        try:   # the user hears ringing while the destination rings (the bridge plays ${ringback})
            self.esl.uuid_setvar(p.id, "ringback", RINGBACK)
        except EslError:
            pass
        timeout = self.cvw.destination_timeout + 15
        bridged = self.esl.wait_for(p.id, "CHANNEL_BRIDGE", timeout)
        try:
            ex = self.esl.sendmsg(p.id, "bridge", dial, timeout=timeout)
        except EslError as e:
            bridged.cancel()
            self._end_with_prompt(p, "destination_failed", None, str(e))
            return
        gevent.wait([bridged, ex.complete], timeout=timeout, count=1)
        if not self.esl.connected:
            bridged.cancel()
            ex.complete.cancel()
            self._lost(p, "event socket lost while the destination was called")
            return
        if bridged.ready() and bridged.successful():
            ex.complete.cancel()
            p.connected_at = now()
            self.machine.transition(p, State.CONNECTED, "connected", leg=dest, other=p.id)
            return
        bridged.cancel()
        if p.state is not State.CALLING_DESTINATION:   # cancelled meanwhile
            ex.complete.cancel()
            return
        if p.id not in self.esl.registry or (ex.complete.ready() and not ex.complete.successful()):
            ex.complete.cancel()     # the user hung up while the destination rang
            self._kill(dest, "ORIGINATOR_CANCEL")
            self._fail(p, "user_hung_up", "ORIGINATOR_CANCEL")
            return
        if not ex.complete.ready():
            ex.complete.cancel()
            self._kill(dest, "NO_ANSWER")
            self._end_with_prompt(p, "destination_no_answer", "NO_ANSWER")
            return
        try:
            cause = self.esl.uuid_getvar(p.id, "originate_disposition") or "NORMAL_CLEARING"
        except EslError:
            cause = "NORMAL_CLEARING"
        self._end_with_prompt(p, destination_outcome(cause), cause)

    def _lost(self, p: Placement, why: str) -> None:
        """The event socket went away before the call was connected: nobody can follow it, so
        it fails, and its legs are hung up once the switch is back (else the user would answer
        into silence, or wait forever for a destination nobody bridges)."""
        self._fail(p, "switch_unavailable", None, reason=why)

        def clean_up():
            if self.esl.wait_connected(60):
                for leg in (p.destination_leg, p.id):
                    if leg and leg in self.esl.registry:
                        self._kill(leg, "NORMAL_TEMPORARY_FAILURE")
        self.flows.spawn(clean_up)

    def _end_with_prompt(self, p: Placement, outcome: str, cause: str | None,
                         reason: str | None = None) -> None:
        """The destination was not reached: the user hears the prompt for it, then is hung up."""
        if not self._fail(p, outcome, cause, reason=reason):
            return
        prompt = {"destination_busy": self.cvw.prompt_busy,
                  "destination_no_answer": self.cvw.prompt_no_answer}.get(outcome,
                                                                           self.cvw.prompt_failed)
        try:
            self.esl.sendmsg(p.id, "playback", prompt, timeout=30).wait(30)
        except (EslError, ChannelGone) as e:
            log.info("call via work %s: prompt not played: %s", p.id, e)
        self._hangup(p.id)

    # -- events (from handlers) -----------------------------------------------------------
    def leg_hung_up(self, uuid: str, cause: str | None) -> None:
        """A leg of a placement hung up (each one gets its call_log row). A connected call ends
        with the user's leg only: when the destination hangs up, the user's leg follows
        (hangup_after_bridge), while a destination leg that goes away *without* ending the call
        is a loopback bowing out (mod_loopback.c: with both of its legs bridged it bridges the
        far ends directly and hangs itself up) or the other party being moved on."""
        p = self.of_leg(uuid)
        if p is None:
            return
        self.store.log("leg_ended", uuid, None if uuid == p.id else p.id, user=p.user,
                       destination=p.destination, call_id=p.id, cause=cause, kind=p.kind)
        if uuid != p.id or p.state is not State.CONNECTED:
            return
        if self.machine.transition(p, State.ENDED, "ended", leg=uuid,
                                   outcome=p.ended_by or "completed", cause=cause):
            self._expire(p)
        # the user hung up: the destination goes too (a bridge's B leg ends with it anyway);
        # not when the user's leg ended because the other party was transferred or parked
        other = p.destination_leg
        if other and p.ended_by in (None, "hung_up") and other in self.esl.registry:
            self._kill(other, "NORMAL_CLEARING")

    def reconcile(self) -> None:
        """After a (re)connect (the registry is the switch's channels again): a connected
        placement whose user leg is gone ended while the event socket was away. Its hang-up
        was never seen, so without this it would stay connected, and in memory, for ever.
        (A placement not yet connected was failed by its own flow when the socket went.)"""
        for p in list(self.placements.values()):
            if p.state is State.CONNECTED and p.id not in self.esl.registry:
                if self.machine.transition(p, State.ENDED, "ended", leg=p.id,
                                           outcome=p.ended_by or "completed",
                                           reason="ended while the event socket was away"):
                    self._expire(p)

    # -- cancel ---------------------------------------------------------------------------
    def cancel(self, call_id: str) -> Placement:
        """Cancel a placement while the device or the destination rings; a connected one is
        hung up. An ended one is returned as it is."""
        p = self.placements.get(call_id) if isinstance(call_id, str) else None
        if p is None:
            raise CallNotFound(f"call_id: no call via work {str(call_id)[:64]!r}", "call_id")
        if p.state.terminal:
            return p
        if p.state is State.CONNECTED:
            p.ended_by = "hung_up"
            self._kill(p.id, "NORMAL_CLEARING")
            if p.destination_leg:
                self._kill(p.destination_leg, "NORMAL_CLEARING")
            return p
        was = p.state
        if self.machine.transition(p, State.CANCELLED, "cancelled", outcome="cancelled",
                                   cause="ORIGINATOR_CANCEL"):
            self._expire(p)
        if was is State.CALLING_DESTINATION and p.destination_leg:
            self._kill(p.destination_leg, "ORIGINATOR_CANCEL")
        self._kill(p.id, "ORIGINATOR_CANCEL" if was is State.RINGING_USER else "NORMAL_CLEARING")
        return p

    def _kill(self, uuid: str, cause: str) -> None:
        try:
            self.esl.uuid_kill(uuid, cause)
        except EslError:
            pass

    def _hangup(self, uuid: str) -> None:
        try:
            self.esl.hangup(uuid)
        except EslError:
            pass

    def history(self, user: str) -> list[dict]:
        return self.store.history(user=user)
