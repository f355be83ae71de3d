"""The auto attendant's errors, each a class with a stable id."""

from __future__ import annotations

from ..errors import FscontrolError


class AttendantError(FscontrolError):
    """Base of auto attendant errors: a menu that could not go on (logged in one line)."""

    id = "attendant-error"


class CallerGone(AttendantError):
    """The caller hung up (or the call left the attendant) while the menu ran."""

    id = "attendant-caller-gone"


class UnknownAttendant(AttendantError):
    """`fscontrol attendant-schedule` was asked for an attendant (or an instant) it cannot use."""

    id = "attendant-unknown"
