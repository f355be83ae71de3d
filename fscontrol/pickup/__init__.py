"""Group Call Pickup (Lync / Skype for Business class) and directed pickup: a member of a pickup
group dials the group's number and answers the longest-ringing call to another member; `**<ext>`
answers the one ringing that user. Membership: the TOML, changed at run time by `fscontrol
pickup-group`. `PickupFeature` is the wiring; `services` the logic, `handlers` the events,
`groups` the membership, `store` the SQL, `presence` the BLF keys."""

from __future__ import annotations

from .errors import InTwoGroups, NotInPickupRange, PickupError, PickupStoreUnavailable, UnknownUser
from .groups import Group, Groups
from .handlers import PickupHandlers
from .services import PickupService, Ringing

__all__ = ["PickupFeature", "PickupService", "Groups", "Group", "Ringing", "PickupError",
           "PickupStoreUnavailable", "InTwoGroups", "NotInPickupRange", "UnknownUser"]


class PickupFeature:
    """Attach to a Controller after ParkFeature (a ring-back of a parked call is pickable)."""

    name = "pickup"

    def __init__(self):
        self.service: PickupService | None = None

    def attach(self, controller) -> None:
        park = next((f.service for f in controller.features
                     if getattr(f, "service", None) is not None and hasattr(f.service, "take_ringback")),
                    None)
        from ..calls import announcer
        self.service = PickupService(controller.config, controller.database, controller.esl, park)
        self.service.announce = announcer(controller)
        PickupHandlers(self.service).attach(controller.esl)

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
