"""Voicemail (Exchange Unified Messaging class), driven by the controller instead of
FreeSWITCH's mod_voicemail: mailboxes in PostgreSQL (PIN as a slow hash, lockout across calls),
messages recorded by the switch into `voicemail.storage`, mailed over SMTP with a durable retry
queue, MWI, and dial-in access by `*98` or a pilot number.

`VoicemailFeature` is the wiring; `services` holds the logic, `access` the dial-in menus,
`handlers` the events, `store` the SQL, `mailer` SMTP, `mwi` the lamps, `pins` the PIN policy.
"""

from __future__ import annotations

from .errors import (AudioGone, PinRefused, UnknownBox, UnknownMessage, VoicemailError,
                     VoicemailStoreUnavailable)
from .handlers import VoicemailHandlers
from .services import Mailboxes, VoicemailService

__all__ = ["VoicemailFeature", "VoicemailService", "Mailboxes", "VoicemailError", "UnknownBox",
           "UnknownMessage", "PinRefused", "AudioGone", "VoicemailStoreUnavailable"]


class VoicemailFeature:
    """Attach to a Controller: `Controller.features.append(VoicemailFeature())`."""

    name = "voicemail"

    def __init__(self):
        self.service: VoicemailService | None = None

    def attach(self, controller) -> None:
        self.service = VoicemailService(controller.config, controller.database, controller.esl,
                                        getattr(controller, "bus", None))
        VoicemailHandlers(self.service).attach(controller.esl)
        self.service.start()

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
