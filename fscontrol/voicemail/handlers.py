"""Events in, service calls out: CHANNEL_PARK of a call our dialplan sent to voicemail (leave a
message, `*98`, the pilot number), MESSAGE_QUERY from a phone subscribing to its mailbox, and
the MWI refresh after each (re)connect. Handlers only hand work to a greenlet."""

from __future__ import annotations

import logging

from ..render import contract
from .services import VoicemailService

log = logging.getLogger("fscontrol.voicemail")


class VoicemailHandlers:
    def __init__(self, service: VoicemailService):
        self.service = service

    def attach(self, esl) -> None:
        esl.on("CHANNEL_PARK", self.on_channel_park)
        esl.on("MESSAGE_QUERY", self.on_message_query)
        esl.on_connect(self.on_connect)

    def on_channel_park(self, event) -> None:
        action = event.var(contract.VAR_ACTION)
        svc = self.service
        if action == contract.ACTION_VOICEMAIL_LEAVE:
            box = event.var(contract.VAR_BOX)
            if box and svc.claim(event.uuid):
                svc.spawn(svc.leave, event.uuid, box)
        elif action == contract.ACTION_VOICEMAIL_CHECK:
            if event.destination_number == svc.config.features.voicemail and svc.claim(event.uuid):
                svc.spawn(svc.check, event.uuid, self._own_box(event))
        elif action == contract.ACTION_VOICEMAIL_PILOT:
            if event.destination_number == svc.config.voicemail.pilot and svc.claim(event.uuid):
                svc.spawn(svc.check, event.uuid, None)

    def _own_box(self, event) -> str | None:
        """The caller's own box: the user the switch authenticated (`user_name`), else the
        caller id number; None (asked, as at the pilot number) when that is not a user."""
        users = {u.extension for u in self.service.config.users}
        for candidate in (event.var("user_name"), event.caller_id_number):
            if candidate in users:
                return candidate
        return None

    def on_message_query(self, event) -> None:
        account = event.get("Message-Account")
        if account:
            self.service.spawn(self.service.message_query, account)

    def on_connect(self, esl) -> None:
        self.service.spawn(self.service.on_connect)
