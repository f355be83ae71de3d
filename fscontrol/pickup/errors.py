"""Group Call Pickup's errors: each a class with a stable id, mapped once where it is shown."""

from __future__ import annotations

from ..errors import FscontrolError


class PickupError(FscontrolError):
    """Base of pickup errors; `id` is stable (logs, call_log, the CLI)."""

    id = "pickup-error"


class PickupStoreUnavailable(PickupError):
    id = "database-unavailable"


class NotInPickupRange(PickupError):
    id = "not-a-pickup-number"


class InTwoGroups(PickupError):
    id = "user-in-two-groups"


class UnknownUser(PickupError):
    id = "unknown-user"


class NotAMember(PickupError):
    id = "not-a-member"
