"""Call Park (Lync / Skype for Business class): park a call in an orbit by the park code, the park
DTMF or `fscontrol park`; retrieve it by dialling the orbit; ring the parker back on timeout and
fall back after `max_attempts`; presence per orbit; every parked call survives a controller restart.

`ParkFeature` is the wiring; `services` holds the logic, `handlers` the events, `store` the SQL,
`states` the state machine, `presence` the BLF events, `music` the hold music.
"""

from __future__ import annotations

from .errors import (BadMusicFile, CallBusy, NoOrbitAvailable, NotBridged, ParkError,
                     ParkStoreUnavailable)
from .handlers import ParkHandlers
from .services import ParkService
from .states import ParkedCall, ParkRequest, State

__all__ = ["ParkFeature", "ParkService", "ParkedCall", "ParkRequest", "State", "ParkError",
           "NoOrbitAvailable", "NotBridged", "CallBusy", "ParkStoreUnavailable", "BadMusicFile"]


class ParkFeature:
    """Attach to a Controller: `Controller.features.append(ParkFeature())`."""

    name = "park"

    def __init__(self, controller_id: str | None = None):
        self.controller_id = controller_id
        self.service: ParkService | None = None

    def attach(self, controller) -> None:
        from ..calls import announcer
        self.service = ParkService(controller.config, controller.database, controller.esl,
                                   self.controller_id)
        self.service.announce = announcer(controller)
        ParkHandlers(self.service).attach(controller.esl)

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
