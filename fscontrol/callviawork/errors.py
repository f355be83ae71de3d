"""Call Via Work's errors: each a RequestError with a stable id, the request field at fault and
its kind (the HTTP API maps the kind to a status in one place; the CLI prints the message)."""

from __future__ import annotations

from ..errors import RequestError


class CallViaWorkError(RequestError):
    id = "call_via_work_error"


class CallViaWorkDisabled(CallViaWorkError):
    """[call_via_work] enabled = false."""

    id = "call_via_work_disabled"
    kind = "forbidden"


class UnknownUser(CallViaWorkError):
    id = "unknown_user"
    kind = "not_found"


class InvalidNumber(CallViaWorkError):
    """Not a number we can dial (digits, * #, an optional leading +; at most 32)."""

    id = "invalid_number"
    kind = "invalid"


class DestinationNotAllowed(CallViaWorkError):
    """The number matches none of [call_via_work] destinations."""

    id = "destination_not_allowed"
    kind = "forbidden"


class CallbackNotAllowed(CallViaWorkError):
    """A request named its own callback device while user_callback = false (the admin's
    users[].callback, else the user's phone, is always used)."""

    id = "callback_not_allowed"
    kind = "forbidden"


class RateLimited(CallViaWorkError):
    id = "rate_limited"
    kind = "rate_limited"


class DeviceUnregistered(CallViaWorkError):
    """The user's callback device cannot be reached at all (not registered, no such user on the
    switch): answered at once, as Wazo's 400 call-origin-unavailable, with 409 here."""

    id = "device_unregistered"
    kind = "conflict"


class InvalidCallId(CallViaWorkError):
    id = "invalid_call_id"
    kind = "invalid"


class CallIdInUse(CallViaWorkError):
    id = "call_id_in_use"
    kind = "conflict"


class CallNotFound(CallViaWorkError):
    id = "call_not_found"
    kind = "not_found"


class CallNotConnected(CallViaWorkError):
    """Hold, transfer or park of a call that is not answered and bridged to someone."""

    id = "call_not_connected"
    kind = "conflict"


class InvalidRoom(CallViaWorkError):
    id = "invalid_room"
    kind = "invalid"


class ControlFailed(CallViaWorkError):
    """The switch refused a mid-call command (its answer is in the message)."""

    id = "control_failed"
    kind = "conflict"


class ParkUnavailable(CallViaWorkError):
    """Call Park is not running in this controller, or parked nothing in time."""

    id = "park_unavailable"
    kind = "unavailable"


class SwitchUnavailable(CallViaWorkError):
    """The event socket is down: nothing was sent."""

    id = "switch_unavailable"
    kind = "unavailable"
