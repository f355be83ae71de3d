"""Group Call Pickup's errors: each a class with a stable id, mapped once where it is shown."""

from __future__ import annotations

from ..errors import FscontrolError, RequestError


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


class NothingRinging(RequestError):
    """A pickup to a phone asked where nothing is ringing (the HTTP API's pickup)."""

    id = "nothing_ringing"
    kind = "not_found"


class PickupRefused(RequestError):
    """The user may not pick up that group's (or member's) calls (`pickup_groups[].pickers`)."""

    id = "pickup_not_allowed"
    kind = "forbidden"
