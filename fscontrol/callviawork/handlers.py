"""Events in, service calls out: the hang-up of any leg of a placement (a connected call ends
when either party hangs up); at each (re)connect, the placements that ended unseen. The ringing and the bridge are waited for by the call's own flow
(fscontrol.callviawork.services), which registered its waiters before sending the commands."""

from __future__ import annotations

from .services import CallViaWorkService


class CallViaWorkHandlers:
    def __init__(self, service: CallViaWorkService):
        self.service = service

    def attach(self, esl) -> None:
        esl.on("CHANNEL_HANGUP", self.on_hangup)
        esl.on_connect(self.on_connect)

    def on_connect(self, esl) -> None:
        self.service.reconcile()

    def on_hangup(self, event) -> None:
        if event.uuid in self.service.legs:
            self.service.flows.spawn(self.service.leg_hung_up, event.uuid, event.hangup_cause)
