"""Mid-call control of a call a user is in (what Skype for Business's Call Via Work cannot do):
hold and resume, blind transfer, park (through Call Park, to an orbit) and hang-up, each of the
call given by the user's leg uuid; and conference dial-out. Whether the requesting user is in
that call is the API's check (calls.tracker.user_of); here the arguments are checked and the
switch's refusals become typed errors.

Hold is `uuid_hold <leg>` (the switch tells the user's phone and plays the leg's `hold_music`
to the other party, switch_ivr.c switch_ivr_hold), resume `uuid_hold off <leg>`. Transfer and
park move the *other* party (`uuid_transfer <peer> <target> XML <context>`); the user's leg then
leaves the call (its bridge ends; it is hung up if it does not by itself)."""

from __future__ import annotations

import logging
import time

import gevent

from ..esl import ChannelGone, CommandError, CommandTimeout, EslError
from ..esl.commands import is_uuid
from .errors import (CallNotConnected, CallNotFound, ControlFailed, InvalidCallId,
                     ParkUnavailable, SwitchUnavailable)

log = logging.getLogger("fscontrol.callviawork")

PARK_WAIT = 10.0     # seconds to wait for Call Park to give the call an orbit
LEAVE_WAIT = 3.0     # seconds the user's leg gets to end by itself after a transfer


class CallControl:
    def __init__(self, service, controller=None):
        self.service = service
        self.controller = controller

    @property
    def esl(self):
        return self.service.esl

    # -- the call and its other party ----------------------------------------------------------
    def _leg(self, call_id):
        if not isinstance(call_id, str) or not is_uuid(call_id):
            raise InvalidCallId("call_id: not a valid call id", "call_id")
        if not self.esl.connected:
            raise SwitchUnavailable("the switch is not connected; nothing was sent")
        ch = self.esl.registry.get(call_id)
        if ch is None:
            raise CallNotFound(f"call_id: no call {call_id} on the switch", "call_id")
        return ch

    def _peer(self, call_id) -> str:
        ch = self._leg(call_id)
        peer = ch.bridged_to
        if not peer:
            try:
                peer = self.esl.uuid_getvar(call_id, "bridge_uuid")
            except EslError:
                peer = None
        if not peer or peer not in self.esl.registry:
            raise CallNotConnected(f"call_id: {call_id} is not connected to anyone", "call_id")
        return peer

    def user_of(self, call_id: str) -> str | None:
        """The user on leg `call_id`: its placement's, else what the switch says of the leg."""
        p = self.service.of_leg(call_id)
        if p is not None and call_id == p.id:
            return p.user
        ch = self.esl.registry.get(call_id)
        if ch is None:
            return None
        for candidate in (ch.variables.get("dialed_user"), ch.variables.get("user_name"),
                          ch.caller_id_number if ch.direction == "inbound" else None,
                          (ch.destination_number or "").split("@")[0]
                          if ch.direction == "outbound" else None):
            if candidate and self.service.is_user(candidate):
                return candidate
        return None

    def _refused(self, what: str, call_id: str, e: EslError):
        cause = getattr(e, "cause", None) or str(e)
        return ControlFailed(f"{what} {call_id}: the switch answered {cause}", "call_id",
                             cause=cause)

    # -- hold / resume ---------------------------------------------------------------------
    def hold(self, call_id: str) -> None:
        self._peer(call_id)
        try:
            self.esl.uuid_hold(call_id, "on")
        except CommandError as e:
            raise self._refused("hold", call_id, e) from None
        except EslError as e:
            raise SwitchUnavailable(f"hold {call_id}: {e}") from None

    def resume(self, call_id: str) -> None:
        self._leg(call_id)
        try:
            self.esl.uuid_hold(call_id, "off")
        except CommandError as e:
            raise self._refused("resume", call_id, e) from None
        except EslError as e:
            raise SwitchUnavailable(f"resume {call_id}: {e}") from None

    # -- transfer / park -------------------------------------------------------------------
    def transfer(self, call_id: str, target: str) -> None:
        """Blind transfer: the other party goes to `target` (a user's extension or a number the
        policy allows) through the dialplan; the user leaves the call."""
        peer = self._peer(call_id)
        target = str(target or "").strip()
        if not self.service.is_user(target):
            target = self.service.check_number("target", target)
        self._mark(call_id, "transferred")
        self._move(call_id, peer, target, "transfer")

    def park(self, call_id: str) -> str:
        """Park the other party through Call Park (the user is its parker: the ring-back rings
        them); returns the orbit."""
        feature = self.controller.feature("park") if self.controller is not None else None
        park = getattr(feature, "service", None)
        if park is None:
            raise ParkUnavailable("call park is not running in this controller")
        peer = self._peer(call_id)
        user = self.user_of(call_id)
        if user:
            try:   # the park flow reads the parker from referred_by_user (park.handlers)
                self.esl.uuid_setvar(peer, "referred_by_user", user)
            except EslError as e:
                log.warning("call via work: parker of %s not set: %s", peer, e)
        self._mark(call_id, "parked")
        self._move(call_id, peer, park.park_config.code, "park")
        deadline = time.monotonic() + PARK_WAIT
        while time.monotonic() < deadline:
            try:
                call = park.store.by_channel(peer)
            except Exception as e:   # the park store's own error: the database
                raise ParkUnavailable(f"park {call_id}: {e}") from None
            if call is not None:
                return call.orbit
            if peer not in self.esl.registry:
                break
            gevent.sleep(0.05)
        raise ParkUnavailable(f"park {call_id}: the other party was sent to the park code but "
                              f"got no orbit within {PARK_WAIT:g} s")

    def _mark(self, call_id: str, how: str | None) -> None:
        """Say how the user's placement is ending (before the command: its leg's hang-up may
        be seen before the command returns)."""
        p = self.service.of_leg(call_id)
        if p is not None and p.id == call_id:
            p.ended_by = how

    def _move(self, call_id: str, peer: str, target: str, what: str) -> None:
        gone = self.esl.wait_for(call_id, "CHANNEL_HANGUP", LEAVE_WAIT)
        try:
            self.esl.uuid_transfer(peer, target, "XML", self.service.config.switch.context)
        except CommandError as e:
            gone.cancel()
            self._mark(call_id, None)
            raise self._refused(what, call_id, e) from None
        except EslError as e:
            gone.cancel()
            self._mark(call_id, None)
            raise SwitchUnavailable(f"{what} {call_id}: {e}") from None
        try:
            gone.get()
        except ChannelGone:
            pass
        except CommandTimeout:   # still up (no hangup_after_bridge): the user leaves the call
            self._kill(call_id)

    # -- hang up -----------------------------------------------------------------------------
    def hangup(self, call_id: str) -> None:
        self._leg(call_id)
        self._mark(call_id, "hung_up")
        try:
            self.esl.uuid_kill(call_id, "NORMAL_CLEARING")
        except CommandError as e:
            raise self._refused("hang up", call_id, e) from None
        except EslError as e:
            raise SwitchUnavailable(f"hang up {call_id}: {e}") from None

    def _kill(self, uuid: str) -> None:
        try:
            self.esl.uuid_kill(uuid, "NORMAL_CLEARING")
        except EslError:
            pass

    # -- conference dial-out -----------------------------------------------------------------
    def dial_into_conference(self, room: str, user: str, *, call_id: str | None = None):
        return self.service.dial_into_conference(room, user, call_id=call_id)
