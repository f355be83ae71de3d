"""An attendant call's named states: menu -> dial_by_extension / dial_by_name -> choosing /
announcement -> ... -> put_through / voicemail / operator / disconnected / hung_up. Every change
goes through `transition`, which checks the move is one the flow has and logs it. Calls in an
attendant live only in memory: a controller that restarts starts their menu again."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from datetime import datetime

log = logging.getLogger("fscontrol.attendant")


class State(str, enum.Enum):
    MENU = "menu"
    EXTENSION = "dial_by_extension"
    NAME = "dial_by_name"
    CHOOSING = "choosing"
    ANNOUNCEMENT = "announcement"
    # terminal: the call left the attendant
    PUT_THROUGH = "put_through"
    VOICEMAIL = "voicemail"
    OPERATOR = "operator"
    DISCONNECTED = "disconnected"
    HUNG_UP = "hung_up"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({State.PUT_THROUGH, State.VOICEMAIL, State.OPERATOR, State.DISCONNECTED,
                       State.HUNG_UP})
_LEAVE = frozenset({State.PUT_THROUGH, State.OPERATOR, State.DISCONNECTED, State.HUNG_UP})
ALLOWED: dict[State, frozenset[State]] = {
    State.MENU: frozenset({State.MENU, State.EXTENSION, State.NAME, State.ANNOUNCEMENT,
                           State.VOICEMAIL}) | _LEAVE,
    State.EXTENSION: frozenset({State.MENU}) | _LEAVE,
    State.NAME: frozenset({State.MENU, State.CHOOSING}) | _LEAVE,
    State.CHOOSING: frozenset({State.MENU}) | _LEAVE,
    State.ANNOUNCEMENT: frozenset({State.MENU, State.DISCONNECTED, State.HUNG_UP}),
}


class IllegalTransition(Exception):
    """A bug: the flow asked for a move it does not have."""


@dataclass
class AttendantCall:
    """One call in an attendant: where it is (`attendant`, `menu` kind, `state`), its failed
    inputs at the current menu, and every state it went through."""

    uuid: str
    attendant: str
    menu: str
    started_at: datetime
    state: State = State.MENU
    failures: int = 0
    history: list = field(default_factory=list)

    def transition(self, to: State, **details) -> None:
        if to not in ALLOWED.get(self.state, frozenset()):
            raise IllegalTransition(f"{self.state.value} -> {to.value}")
        details = {k: v for k, v in details.items() if v not in (None, "")}
        log.info("attendant %s: %s %s -> %s%s", self.attendant, self.uuid, self.state.value,
                 to.value, "".join(f" {k}={v}" for k, v in details.items()))
        self.history.append((self.state, to, details))
        self.state = to
