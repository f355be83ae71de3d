"""Call Via Work (Skype for Business's click-to-call, without its limits): the user's callback
device rings first showing the global Call Via Work caller ID; once answered the destination is
called with the user's own caller ID and bridged; hold, transfer, park and hang-up mid-call;
conference dial-out; every leg in call_log.

`CallViaWorkFeature` is the wiring; `services` holds the flow, `control` the mid-call commands,
`handlers` the events, `states` the state machine, `store` the SQL, `errors` the typed errors.
"""

from __future__ import annotations

from .control import CallControl
from .errors import (CallbackNotAllowed, CallIdInUse, CallNotConnected, CallNotFound,
                     CallViaWorkDisabled, CallViaWorkError, ControlFailed, DestinationNotAllowed,
                     DeviceUnregistered, InvalidCallId, InvalidNumber, InvalidRoom,
                     ParkUnavailable, RateLimited, SwitchUnavailable, UnknownUser)
from .handlers import CallViaWorkHandlers
from .services import CallViaWorkService
from .states import Placement, State

__all__ = ["CallViaWorkFeature", "CallViaWorkService", "CallControl", "Placement", "State",
           "CallViaWorkError", "CallViaWorkDisabled", "UnknownUser", "InvalidNumber",
           "DestinationNotAllowed", "CallbackNotAllowed", "RateLimited", "DeviceUnregistered",
           "InvalidCallId", "CallIdInUse", "CallNotFound", "CallNotConnected", "InvalidRoom",
           "ControlFailed", "ParkUnavailable", "SwitchUnavailable"]


class CallViaWorkFeature:
    """Attach to a Controller (after ParkFeature: `control.park` uses the park service)."""

    name = "callviawork"

    def __init__(self, listeners=()):
        # called with the Placement when it is created and after each state change (in the
        # controller's hub, must not block); append to it at any time (the HTTP API's events)
        self.listeners = list(listeners)
        self.service: CallViaWorkService | None = None
        self.control: CallControl | None = None

    def attach(self, controller) -> None:
        self.service = CallViaWorkService(controller.config, controller.database, controller.esl,
                                          self.listeners)
        self.control = CallControl(self.service, controller)
        CallViaWorkHandlers(self.service).attach(controller.esl)

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
