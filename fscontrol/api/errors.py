"""The HTTP API's own request errors, and the one place an error becomes an HTTP status.

Every error a client sees has the shape of `RequestError.to_dict()`: `{"error": <stable code>,
"message": <one line>, "field": <request field, when one is at fault>}`."""

from __future__ import annotations

from ..errors import RequestError

#: RequestError.kind -> HTTP status: the only mapping there is
STATUS = {
    "invalid": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "rate_limited": 429,
    "unavailable": 503,
    "internal": 500,
}


def status_of(error: RequestError) -> int:
    return STATUS.get(error.kind, 500)


class Unauthorized(RequestError):
    """No token, or one that is unknown, expired or revoked (401, with WWW-Authenticate)."""

    id = "unauthorized"
    kind = "unauthorized"


class Forbidden(RequestError):
    """A valid token that may not do this (a user token acting for another user)."""

    id = "forbidden"
    kind = "forbidden"


class CallNotFound(RequestError):
    id = "call_not_found"
    kind = "not_found"


class CallIdTaken(RequestError):
    """A client-chosen call id that is already a call's (Call Via Work's own code for it)."""

    id = "call_id_in_use"
    kind = "conflict"


class UnknownUser(RequestError):
    """No such users[].extension (the status Call Via Work gives its own unknown_user)."""

    id = "unknown_user"
    kind = "not_found"


class RouteNotFound(RequestError):
    id = "not_found"
    kind = "not_found"


class MethodNotAllowed(RequestError):
    id = "method_not_allowed"
    kind = "method_not_allowed"


class BadRequest(RequestError):
    """A request the server could not read at all (not JSON, too large, ...)."""

    id = "bad_request"
    kind = "invalid"


class InvalidField(RequestError):
    """A request field failed the schema (the framework's validation, converted)."""

    id = "invalid_field"
    kind = "invalid"


class TooManyStreams(RequestError):
    """`api.max_streams` event streams are open already."""

    id = "too_many_streams"
    kind = "rate_limited"


class Standby(RequestError):
    """This controller is standby (another one holds the switch): nothing to act on here."""

    id = "standby"
    kind = "unavailable"


class FeatureUnavailable(RequestError):
    id = "feature_unavailable"
    kind = "unavailable"


class SwitchUnavailable(RequestError):
    id = "switch_unavailable"
    kind = "unavailable"


class DatabaseUnavailable(RequestError):
    id = "database_unavailable"
    kind = "unavailable"


class Internal(RequestError):
    """A bug: the client gets this line, the log gets the traceback."""

    id = "internal"
    kind = "internal"
