"""A Call Via Work placement as a state machine: ringing the user's device, calling the
destination, connected, then ended / failed / cancelled. Every transition goes through
`StateMachine.transition`, which logs it, writes its call_log row and tells the listeners."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

log = logging.getLogger("fscontrol.callviawork")


class State(str, enum.Enum):
    RINGING_USER = "ringing_user"
    CALLING_DESTINATION = "calling_destination"
    CONNECTED = "connected"
    ENDED = "ended"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (State.ENDED, State.FAILED, State.CANCELLED)


# hangup causes of the user's device leg, as the originate reports them (trace s04: -ERR CAUSE)
UNREACHABLE = frozenset({"USER_NOT_REGISTERED", "SUBSCRIBER_ABSENT", "DESTINATION_OUT_OF_ORDER",
                         "NO_ROUTE_DESTINATION", "UNALLOCATED_NUMBER", "CHAN_NOT_IMPLEMENTED",
                         "INVALID_NUMBER_FORMAT"})
_NO_ANSWER = frozenset({"NO_ANSWER", "NO_USER_RESPONSE", "ALLOTTED_TIMEOUT",
                        "RECOVERY_ON_TIMER_EXPIRE", "PROGRESS_TIMEOUT"})
_REJECTED = frozenset({"CALL_REJECTED", "NORMAL_CLEARING", "ORIGINATOR_CANCEL"})


def user_outcome(cause: str) -> str:
    """Why the user's device did not answer, from the originate's cause."""
    if cause in UNREACHABLE:
        return "device_unregistered"
    if cause == "USER_BUSY":
        return "user_busy"
    if cause in _NO_ANSWER:
        return "user_no_answer"
    if cause in _REJECTED:
        return "user_rejected"
    return "user_failed"


def destination_outcome(cause: str) -> str:
    """Why the destination was not connected, from the bridge's originate_disposition."""
    if cause == "USER_BUSY":
        return "destination_busy"
    if cause in _NO_ANSWER:
        return "destination_no_answer"
    return "destination_failed"


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Placement:
    """One click-to-call (or conference dial-out). `id` is the user's leg uuid."""

    id: str
    user: str
    destination: str                 # the number called, or "conference:<room>"
    device: str                      # what rang first, as the user knows it ("1001", "+4930...")
    state: State = State.RINGING_USER
    outcome: str | None = None       # set when it ends: completed, user_busy, ..., cancelled
    cause: str | None = None         # the switch's hangup cause behind the outcome
    destination_leg: str | None = None
    created_at: datetime = field(default_factory=now)
    answered_at: datetime | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    kind: str = "call"               # "call" or "conference"
    ended_by: str | None = None      # how a connected call is ending: hung_up, transferred, parked

    @property
    def user_leg(self) -> str:
        return self.id

    def to_dict(self) -> dict:
        return {"id": self.id, "user": self.user, "destination": self.destination,
                "state": self.state.value, "outcome": self.outcome, "cause": self.cause,
                "user_leg": self.id, "destination_leg": self.destination_leg,
                "created_at": self.created_at.isoformat()}


class StateMachine:
    """The one place a placement changes state: logged, written to call_log (best effort: a call
    is not failed because the database is down), and passed to each listener."""

    def __init__(self, store, listeners=()):
        self.store = store
        # the caller's own list when it passes one, so listeners added later are called too
        self.listeners = listeners if isinstance(listeners, list) else list(listeners)

    def transition(self, p: Placement, to: State, action: str, *, leg: str | None = None,
                   other: str | None = None, **details) -> bool:
        """False (nothing done) when `p` already ended: a late event never revives a call."""
        if p.state.terminal:
            return False
        old = p.state
        p.state = to
        if to.terminal:
            p.ended_at = now()
        if details.get("outcome"):
            p.outcome = details["outcome"]
        if details.get("cause"):
            p.cause = details["cause"]
        log.info("call via work %s (%s -> %s): %s -> %s%s", p.id, p.user, p.destination,
                 old.value, to.value, "".join(f" {k}={v}" for k, v in details.items() if v))
        self.store.log(action, leg or p.id, other, user=p.user, destination=p.destination,
                       call_id=p.id, state=to.value, device=p.device, kind=p.kind, **details)
        self.notify(p)
        return True

    def notify(self, p: Placement) -> None:
        """Tell the listeners (also of a new placement, in its first state)."""
        for listener in self.listeners:
            try:
                listener(p)
            except Exception:
                log.exception("call via work: a listener failed on %s", p.id)
