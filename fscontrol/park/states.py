"""The parked call's state machine: parked -> ringing_back -> parked ... -> retrieved / fallback /
disconnected / abandoned. Every change goes through `StateMachine.transition`, which checks the
move is allowed, persists it as a compare-and-set in PostgreSQL together with its call_log row
(one transaction), and logs it. A lost compare-and-set (someone else moved the call first: a
retriever, a hangup, another controller) returns None and changes nothing.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from datetime import datetime

log = logging.getLogger("fscontrol.park")


class State(str, enum.Enum):
    PARKED = "parked"
    RINGING_BACK = "ringing_back"
    # terminal: the row is deleted, the orbit is free
    RETRIEVED = "retrieved"
    FALLBACK = "fallback"
    DISCONNECTED = "disconnected"
    ABANDONED = "abandoned"

    @property
    def terminal(self) -> bool:
        return self not in (State.PARKED, State.RINGING_BACK)


# (from, to) -> the call_log actions that may name that move
ALLOWED: dict[tuple[State, State], frozenset[str]] = {
    (State.PARKED, State.RINGING_BACK): frozenset({"timeout"}),
    (State.RINGING_BACK, State.PARKED): frozenset({"ringback_failed"}),
    (State.PARKED, State.RETRIEVED): frozenset({"retrieve"}),
    (State.RINGING_BACK, State.RETRIEVED): frozenset({"retrieve", "ringback_answered"}),
    (State.PARKED, State.FALLBACK): frozenset({"fallback"}),
    (State.RINGING_BACK, State.FALLBACK): frozenset({"fallback"}),
    (State.PARKED, State.DISCONNECTED): frozenset({"disconnect"}),
    (State.RINGING_BACK, State.DISCONNECTED): frozenset({"disconnect"}),
    (State.PARKED, State.ABANDONED): frozenset({"abandon"}),
    (State.RINGING_BACK, State.ABANDONED): frozenset({"abandon"}),
}


class IllegalTransition(Exception):
    """A bug: the code asked for a move the state machine does not have."""


@dataclass(frozen=True)
class ParkedCall:
    """One parked call as the database holds it."""

    orbit: str
    range_name: str
    channel_uuid: str
    caller_name: str
    caller_number: str
    parker: str | None
    state: State
    attempts: int
    deadline: datetime
    ringback_uuid: str | None
    parked_at: datetime
    controller_id: str
    switch: str = ""  # switch.name (or esl_host:esl_port) of the switch the call is parked on

    @property
    def caller(self) -> str:
        if self.caller_name and self.caller_name != self.caller_number:
            return f"{self.caller_name} <{self.caller_number}>" if self.caller_number else self.caller_name
        return self.caller_number or self.caller_name or "unknown"


@dataclass(frozen=True)
class ParkRequest:
    """What the park code, the park DTMF or `fscontrol park` asks for."""

    channel_uuid: str
    caller_name: str = ""
    caller_number: str = ""
    parker: str | None = None
    via: str = "code"  # code | dtmf | cli


class StateMachine:
    """The one place a parked call changes state."""

    def __init__(self, store, controller_id: str, listener=None):
        self.store = store
        self.controller_id = controller_id
        # listener(action, call, other_uuid): told of every park and every move made (the
        # service counts them and announces them to the live events)
        self.listener = listener

    def _tell(self, action: str, call: ParkedCall, other_uuid: str | None = None) -> None:
        if self.listener is not None:
            try:
                self.listener(action, call, other_uuid)
            except Exception:   # what is told never undoes what was done
                log.exception("park: listener failed on %s of %s", action, call.orbit)

    def park(self, request: ParkRequest, ranges, allocation: str, deadline_for) -> ParkedCall:
        """None -> parked: allocate a free orbit (atomic INSERT) and write the `park` row."""
        call = self.store.allocate(request, ranges, allocation, deadline_for, self.controller_id)
        log.info("park: %s parked at %s (range %s, parker %s, via %s)", call.caller,
                 call.orbit, call.range_name, call.parker or "nobody", request.via)
        self._tell("park", call)
        return call

    def transition(self, call: ParkedCall, to: State, action: str, *, other_uuid: str | None = None,
                   deadline: datetime | None = None, attempts: int | None = None,
                   ringback_uuid: str | None = None, **details) -> ParkedCall | None:
        allowed = ALLOWED.get((call.state, to))
        if allowed is None or action not in allowed:
            raise IllegalTransition(f"{call.state.value} -> {to.value} by {action}")
        new = replace(call, state=to,
                      deadline=deadline if deadline is not None else call.deadline,
                      attempts=attempts if attempts is not None else call.attempts,
                      ringback_uuid=ringback_uuid if to is State.RINGING_BACK else None)
        details = {k: v for k, v in details.items() if v is not None}
        details.update({"from": call.state.value, "to": to.value, "attempts": new.attempts})
        if not self.store.apply(call, new, action, other_uuid, details):
            log.info("park: %s at %s: %s -> %s (%s) lost: the call had already moved",
                     call.caller, call.orbit, call.state.value, to.value, action)
            return None
        log.info("park: %s at %s: %s -> %s (%s)%s", call.caller, call.orbit, call.state.value,
                 to.value, action, "".join(f" {k}={v}" for k, v in details.items()
                                           if k not in ("from", "to")))
        self._tell(action, new, other_uuid)
        return new
