"""Live calls: the current calls of users' phones (one per leg of a configured user's phone), as
the HTTP API lists them and its event stream tells them (`call_created` ... `call_ended`), kept
from the event socket and rebuilt from the switch at every (re)connect.

`CallsFeature` is the wiring (attached before park and pickup, which announce their
`call_parked`, `call_retrieved`, `call_picked_up` through its tracker); `services` holds the
`CallTracker`, `handlers` the events, `view` the call's JSON shape."""

from __future__ import annotations

from .handlers import CallHandlers
from .services import VAR_DESTINATION, VAR_FOR_USER, VAR_USER_LEG, VAR_VIA, CallTracker
from .view import Call

__all__ = ["CallsFeature", "CallTracker", "Call", "VAR_VIA", "VAR_FOR_USER", "VAR_USER_LEG",
           "VAR_DESTINATION", "announcer"]


class CallsFeature:
    """Attach to a Controller before the features that announce calls (park, pickup)."""

    name = "calls"

    def __init__(self):
        self.tracker: CallTracker | None = None

    def attach(self, controller) -> None:
        self.tracker = CallTracker(controller.config, controller.esl, controller.bus)
        CallHandlers(self.tracker).attach(controller.esl)

    def stop(self) -> None:
        pass


def announcer(controller):
    """What a feature service calls to publish what it did to a call
    (`announce(kind, uuid, users, **fields)`): the calls feature's tracker, or a no-op when the
    controller has none."""
    feature = controller.feature("calls")
    if feature is None or feature.tracker is None:
        return lambda kind, uuid, users, **fields: None
    return feature.tracker.announce
