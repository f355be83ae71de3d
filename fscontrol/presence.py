"""BLF keys as PRESENCE_IN events, shaped like mod_valet_parking's `valet_send_presence` (trace
s06) and sent with `sendevent` (trace s08); mod_sofia turns them into the presence and dialog
NOTIFYs of a subscribed phone (sofia_presence.c: `force-status` is the note it shows, the
caller-id headers with an outbound `presence-call-direction` the dialog's remote party). Call
Park (an orbit) and Group Call Pickup (a group number) each publish their keys through one."""

from __future__ import annotations

import itertools
import logging

from .esl import EslError


def xml_safe(text: str) -> str:
    """mod_sofia pastes these into the NOTIFY's XML unescaped: no markup characters."""
    return " ".join((text or "").translate({ord(c): " " for c in '<>&"\',\''}).split())


class BlfKeys:
    """Publishes keys of one proto; `domain` is resolved by the owning service first."""

    def __init__(self, esl, proto: str, feature: str):
        self.esl = esl
        self.proto = proto
        self.domain = ""
        self.feature = feature
        self.log = logging.getLogger(f"fscontrol.{feature}")
        self._count = itertools.count(1)

    def headers(self, login: str, answer_state: str, note: str, name: str = "",
                number: str = "") -> dict:
        """`answer_state`: confirmed (busy), early (ringing) or terminated (idle)."""
        active = answer_state != "terminated"
        h = {
            "proto": self.proto,
            "login": login,
            "from": f"{login}@{self.domain}",
            "status": note,
            "force-status": note,
            "rpid": "active" if active else "unknown",
            "event_type": "presence",
            "alt_event_type": "dialog",
            "event_count": str(next(self._count)),
            "unique-id": login,
            "channel-state": "CS_ROUTING" if active else "CS_HANGUP",
            "answer-state": answer_state,
            "presence-call-direction": "outbound" if active else "inbound",
        }
        if active and number:
            h["Caller-Caller-ID-Name"] = xml_safe(name) or xml_safe(number)
            h["Caller-Caller-ID-Number"] = xml_safe(number)
        return h

    def send(self, login: str, answer_state: str, note: str, name: str = "",
             number: str = "") -> bool:
        try:
            self.esl.sendevent("PRESENCE_IN", self.headers(login, answer_state, note, name, number))
            return True
        except EslError as e:  # keys are re-published on the next (re)connect
            self.log.warning("%s: presence for %s not sent: %s", self.feature, login, e)
            return False
