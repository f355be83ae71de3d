"""Message waiting indication: MESSAGE_WAITING events as mod_voicemail sends them (update_mwi in
src/mod/applications/mod_voicemail/mod_voicemail.c: MWI-Messages-Waiting yes/no,
MWI-Message-Account "<box>@<domain>", MWI-Voice-Message "new/saved (urgent new/urgent saved)");
mod_sofia turns them into NOTIFY message-summary to the box's phones. A phone's SUBSCRIBE
reaches us as MESSAGE_QUERY (Message-Account "sip:<box>@<domain>"), answered the same way."""

from __future__ import annotations

import logging

from ..esl import EslError

log = logging.getLogger("fscontrol.voicemail")


def mwi_headers(box: str, domain: str, new: int, saved: int) -> dict[str, str]:
    return {"MWI-Messages-Waiting": "yes" if new else "no",
            "MWI-Message-Account": f"{box}@{domain}",
            "MWI-Voice-Message": f"{new}/{saved} (0/0)"}


def account_box(account: str) -> tuple[str, str]:
    """("1001", "example.com") from a Message-Account "sip:1001@example.com" (or without sip:)."""
    if account.lower().startswith("sip:"):
        account = account[4:]
    box, _, domain = account.partition("@")
    return box, domain


class Mwi:
    def __init__(self, esl):
        self.esl = esl

    def send(self, box: str, domain: str, new: int, saved: int) -> bool:
        try:
            self.esl.sendevent("MESSAGE_WAITING", mwi_headers(box, domain, new, saved))
            return True
        except EslError as e:
            log.warning("voicemail: MWI of %s (%d/%d) not sent: %s", box, new, saved, e)
            return False
