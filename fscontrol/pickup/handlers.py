"""Events in, service calls out: CHANNEL_PARK with `fscontrol_action` pickup / directed_pickup
(the rendered dialplan answered and parked the picker), and every event that can start or end a
ringing call, for the groups' BLF keys; the BLF keys again after each (re)connect."""

from __future__ import annotations

from ..render import contract
from .services import PickupService

RING_EVENTS = ("CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_ANSWER", "CHANNEL_BRIDGE",
               "CHANNEL_HANGUP", "CHANNEL_DESTROY")


class PickupHandlers:
    def __init__(self, service: PickupService):
        self.service = service

    def attach(self, esl) -> None:
        esl.on("CHANNEL_PARK", self.on_channel_park)
        for name in RING_EVENTS:
            esl.on(name, self.on_ring_event)
        esl.on_connect(self.on_connect)

    def on_channel_park(self, event) -> None:
        action = event.var(contract.VAR_ACTION)
        s = self.service
        # ours only while the channel is still at the number that set the action (see park)
        if action == contract.ACTION_PICKUP:
            number = event.var(contract.VAR_PICKUP_NUMBER)
            if number and event.destination_number == number and s.claim(event.uuid):
                s.spawn(s.group_pickup, event.uuid, number)
        elif action == contract.ACTION_DIRECTED_PICKUP:
            target = event.var(contract.VAR_TARGET)
            code = s.config.features.directed_pickup
            if target and event.destination_number == code + target and s.claim(event.uuid):
                s.spawn(s.directed_pickup, event.uuid, target)

    def on_ring_event(self, event) -> None:
        self.service.ring_changed()

    def on_connect(self, esl) -> None:
        self.service.spawn(self.service.on_connect)
