"""Events in, service calls out: CHANNEL_PARK with our `fscontrol_action` (park / retrieve), the
park DTMF's CUSTOM event, hangups of parked channels, and the reconcile after each (re)connect.
Handlers run on the channel's ordered dispatch worker and only hand work to a greenlet."""

from __future__ import annotations

import logging
import re

from ..render import contract
from .services import ParkService

log = logging.getLogger("fscontrol.park")

_SIP_USER = re.compile(r"sip:([^@;>]+)@")


def referring_user(event) -> str | None:
    """Who Referred-By says transferred this call to the park code: `referred_by_user`, else
    the user of the Referred-By header; None when there is none (many phones send none)."""
    user = event.var("referred_by_user")
    if user:
        return user
    header = event.var("sip_h_Referred-By") or event.var("sip_referred_by")
    if header:
        m = _SIP_USER.search(header)
        if m:
            return m.group(1)
    return None


def transferor_leg(event) -> str | None:
    """The leg of the user who blind-transferred this call here, when SIP says it was
    transferred (mod_sofia sets `sip_refer_to` on the transferred leg, sofia.c
    sofia_handle_sip_i_refer): the leg it was last bridged to (`last_bridge_to`, set on both
    legs by switch_ivr_bridge.c and never cleared)."""
    if event.var("sip_refer_to"):
        return event.var("last_bridge_to") or None
    return None


class ParkHandlers:
    def __init__(self, service: ParkService):
        self.service = service

    def attach(self, esl) -> None:
        esl.on("CHANNEL_PARK", self.on_channel_park)
        esl.on(contract.EVENT_SUBCLASS_PARK_DTMF, self.on_park_dtmf)
        esl.on("CHANNEL_HANGUP", self.on_hangup)
        esl.on_connect(self.on_connect)

    def on_channel_park(self, event) -> None:
        action = event.var(contract.VAR_ACTION)
        # Channel variables outlive the extension that set them: a call that once dialled the
        # park code or an orbit keeps `fscontrol_action` through later bridges, transfers and
        # parks. It is ours only while the channel is still at the number that set it.
        if action == contract.ACTION_PARK and event.destination_number == self.service.park_config.code:
            if not self.service.claim(event.uuid):   # the reconcile took it (missed event)
                return
            # registered before the greenlet runs, so a hangup right after is seen as an abandon
            self.service.parked.add(event.uuid)
            # resolved now, in event order: the transferor's leg ends right after its REFER
            parker = self.service.transferring_user(referring_user(event), transferor_leg(event))
            self.service.spawn(self.service.park_code, event.uuid, parker)
        elif action == contract.ACTION_RETRIEVE:
            orbit = event.var(contract.VAR_ORBIT)
            if orbit and event.destination_number == orbit:
                if self.service.claim(event.uuid):   # before the greenlet runs (reconcile)
                    self.service.spawn(self.service.retrieve, event.uuid, orbit)

    def on_park_dtmf(self, event) -> None:
        if event.uuid:
            self.service.spawn(self.service.park_dtmf, event.uuid)

    def on_hangup(self, event) -> None:
        if event.uuid in self.service.parked:
            self.service.spawn(self.service.abandoned, event.uuid, event.hangup_cause)

    def on_connect(self, esl) -> None:
        self.service.spawn(self.service.reconcile)
