"""Call Park's errors, each a class with a stable id (mapped once to an HTTP status by the API)."""

from __future__ import annotations

from ..errors import FscontrolError, RequestError


class ParkError(FscontrolError):
    """Base of Call Park errors."""

    id = "park-error"
    http_status = 500


class NoOrbitAvailable(ParkError):
    """Every orbit of every park range is taken: the parker hears `park.prompt_no_orbit`."""

    id = "park-no-orbit"
    http_status = 409


class NotBridged(ParkError):
    """The park DTMF was pressed on a leg with no bridge peer to park."""

    id = "park-not-bridged"
    http_status = 409


class CallBusy(ParkError):
    """Another operation held the call's lock for too long; the request was not acted on."""

    id = "park-call-busy"
    http_status = 503


class ParkStoreUnavailable(ParkError):
    """The database could not be reached while parking or changing a parked call."""

    id = "park-database-unavailable"
    http_status = 503


class BadMusicFile(ParkError):
    """A hold-music WAV file was refused; `reason` says why. The previous music stays."""

    id = "park-bad-music"
    http_status = 422

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"hold music {path}: {reason}")


class OrbitEmpty(RequestError):
    """No call is parked at the orbit asked for (a retrieve through the API)."""

    id = "orbit_empty"
    kind = "not_found"
