"""Events in, service calls out: CHANNEL_PARK with `fscontrol_action` attendant (the rendered
dialplan answered and parked a call to an attendant number), and the check after each
(re)connect for calls left waiting there."""

from __future__ import annotations

from ..render import contract
from .services import AttendantService


class AttendantHandlers:
    def __init__(self, service: AttendantService):
        self.service = service

    def attach(self, esl) -> None:
        esl.on("CHANNEL_PARK", self.on_channel_park)
        esl.on_connect(self.on_connect)

    def on_channel_park(self, event) -> None:
        if event.var(contract.VAR_ACTION) != contract.ACTION_ATTENDANT:
            return
        number = event.var(contract.VAR_ATTENDANT)
        s = self.service
        # ours only while the channel is still at the number that set the action (see park):
        # a call the attendant put through keeps the variable through later parks
        if number in s.attendants and event.destination_number == number and s.claim(event.uuid):
            s.spawn(s.answer_call, event.uuid, number)

    def on_connect(self, esl) -> None:
        self.service.spawn(self.service.on_connect)
